// `mcp start <service>[/<component>]`: starts previously stopped containers (desired=running).
import { lifecycleCommand } from "./lifecycle.ts";

export default lifecycleCommand("start", "start a service's stopped containers (or one component's)");
