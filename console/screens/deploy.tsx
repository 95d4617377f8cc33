// Deploy: builds what the registry lacks, then the agent's progress per component, live.
import { useEffect, useState } from "react";
import { useStore } from "zustand";
import { deployScreen } from "../views/progress.ts";
import { ScreenView } from "../components/screen-view.tsx";
import { tuiAction } from "../store/commands.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav } from "../tui/nav.ts";

export const DEPLOY_KEYS = "esc back (the deploy goes on)  ? help  q quit";

export function DeployScreen({ store, service }: { store: ConsoleStore; service: string }) {
  const nav = useNav();
  const state = useStore(store);
  const [done, setDone] = useState(false);
  useEffect(() => {
    const running = store.getState().deployment;
    if (running && running.service === service && (running.state === "building" || running.state === "deploying")) return;
    store
      .getState()
      .track(tuiAction(`deploy ${service}`), () => store.getState().deploy(service))
      .then(() => nav.flash(`deployed ${service}`))
      .catch((err: Error) => nav.flash(err.message, true))
      .finally(() => setDone(true));
  }, [service]);
  const d = state.deployment?.service === service ? state.deployment : null;
  const finished = done || (d !== null && (d.state === "done" || d.state === "failed"));
  return <ScreenView screen={deployScreen(state, finished, service)} width={nav.width} color={nav.color} />;
}
