// `mcp restart <service>[/<component>]`: restarts the containers in place.
import { lifecycleCommand } from "./lifecycle.ts";

export default lifecycleCommand("restart", "restart a service's containers in place (or one component's)");
