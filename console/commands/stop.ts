// `mcp stop <service>[/<component>]`: stops the containers and records desired=stopped,
// so reconciliation leaves them stopped.
import { lifecycleCommand } from "./lifecycle.ts";

export default lifecycleCommand("stop", "stop a service's containers (or one component's); they stay stopped");
