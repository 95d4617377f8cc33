// The console's one store (zustand/vanilla): state slices and the actions that call the
// agents, the registry and podman. Nothing here renders or prints; commands and screens
// read the state (getState/subscribe, or useStore in the TUI). Its shape is in state.ts.
import { createStore } from "zustand/vanilla";
import { buildActions } from "./build.ts";
import { commandActions } from "./commands.ts";
import { deployActions } from "./deploy.ts";
import { describeActions } from "./describe.ts";
import { execActions } from "./exec.ts";
import { releaseActions } from "./releases.ts";
import { mcrActions } from "./mcr.ts";
import { initialMcr } from "./mcr-types.ts";
import { newNodeState, nodeActions } from "./nodes.ts";
import { platformActions } from "./platform.ts";
import { initialPlatform } from "./platform-types.ts";
import { resourceActions } from "./resources.ts";
import { serviceActions } from "./services.ts";
import type { ConsoleData, ConsoleState, ConsoleStore, SetState, StoreDeps } from "./state.ts";
import { streamActions } from "./streams.ts";
import { viewActions } from "./view-state.ts";

export function initialData(nodes: { name: string; url: string }[]): ConsoleData {
  return {
    nodes: Object.fromEntries(nodes.map((n) => [n.name, newNodeState(n, "config")])),
    containers: {},
    statuses: {},
    deployment: null,
    releases: {},
    deployEvents: [],
    images: {},
    buildEvents: [],
    buildWarnings: [],
    syncResults: [],
    logs: { service: "", streams: {}, lines: [], seq: 0, dropped: 0 },
    events: [],
    eventSeq: 0,
    lastOp: null,
    seq: 0,
    mcr: initialMcr(),
    stats: {},
    statsErrors: {},
    prune: null,
    describes: {},
    sorts: {},
    commands: { records: [], skipped: 0, loaded: false },
    platform: initialPlatform(),
  };
}

/**
 * `set` that changes nothing, and tells no one, when every field given is the one already
 * held: actions return `{}` or the same objects when a poll found nothing new, and each
 * change wakes every view that derives from the store.
 */
function quiet(set: SetState): SetState {
  return ((partial: Parameters<SetState>[0], replace?: boolean) => {
    if (replace) return set(partial as ConsoleState, true);
    set((s) => {
      const p = typeof partial === "function" ? partial(s) : partial;
      return Object.entries(p).every(([k, v]) => Object.is(v, s[k as keyof ConsoleState])) ? s : p;
    });
  }) as SetState;
}

export function createConsoleStore(deps: StoreDeps): ConsoleStore {
  return createStore<ConsoleState>()((rawSet, get) => {
    const set = quiet(rawSet);
    return {
      ...initialData(deps.agents.nodes),
      ...nodeActions(set, get, deps),
      ...platformActions(set, get, deps),
      ...serviceActions(set, get, deps),
      ...resourceActions(set, get, deps),
      ...buildActions(set, get, deps),
      ...deployActions(set, get, deps),
      ...streamActions(set, get, deps),
      ...execActions(set, get, deps),
      ...describeActions(set, get, deps),
      ...releaseActions(set, get, deps),
      ...mcrActions(set, get, deps),
      ...viewActions(set),
      ...commandActions(set, get, deps),
    };
  });
}
