// Every command of `mcp`, in the order --help lists them.
import type { CommandSpec } from "./command.ts";
import login from "./login.ts";
import logout from "./logout.ts";
import nodes from "./nodes.ts";
import place from "./place.ts";
import ps from "./ps.ts";
import status from "./status.ts";

export const COMMANDS: CommandSpec[] = [login, logout, nodes, ps, status, place];
