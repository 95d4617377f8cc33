// Every command of `mcp`, in the order --help lists them.
import audit from "./audit.ts";
import build from "./build.ts";
import commands from "./commands.ts";
import type { CommandSpec } from "./command.ts";
import deploy from "./deploy.ts";
import describe from "./describe.ts";
import down from "./down.ts";
import events from "./events.ts";
import exec from "./exec.ts";
import gc from "./gc.ts";
import history from "./history.ts";
import login from "./login.ts";
import logout from "./logout.ts";
import logs from "./logs.ts";
import node from "./node.ts";
import nodes from "./nodes.ts";
import place from "./place.ts";
import policy from "./policy.ts";
import prune from "./prune.ts";
import ps from "./ps.ts";
import registry from "./registry.ts";
import remove from "./remove.ts";
import restart from "./restart.ts";
import rollback from "./rollback.ts";
import snapshot from "./snapshot.ts";
import start from "./start.ts";
import status from "./status.ts";
import stop from "./stop.ts";
import sync from "./sync.ts";
import up from "./up.ts";

export const COMMANDS: CommandSpec[] = [
  up,
  down,
  login,
  logout,
  nodes,
  node,
  build,
  sync,
  deploy,
  history,
  rollback,
  stop,
  start,
  restart,
  remove,
  ps,
  status,
  describe,
  logs,
  exec,
  events,
  prune,
  place,
  registry,
  gc,
  policy,
  audit,
  snapshot,
  commands,
];
