// Renders a command's view live with Ink while its work runs, then the final frame.
// Loaded only on a TTY (console/commands/present.ts imports it lazily).
import { useEffect, useState } from "react";
import { render } from "ink";
import { useStore } from "zustand";
import type { View } from "../views/view.ts";
import { ScreenView } from "../components/screen-view.tsx";
import type { Output } from "../output/output.ts";
import type { ConsoleStore } from "../store/state.ts";

function Live({ store, view, done, width, color }: { store: ConsoleStore; view: View; done: boolean; width: number; color: boolean }) {
  const state = useStore(store);
  // Drawn every 100 ms while the work runs: the view may show how long a step has taken.
  const [, setTick] = useState(0);
  useEffect(() => {
    if (done) return;
    const t = setInterval(() => setTick((n) => n + 1), 100);
    return () => clearInterval(t);
  }, [done]);
  return <ScreenView screen={view(state, done)} width={width} color={color} />;
}

export async function renderLive(store: ConsoleStore, view: View, work: Promise<unknown>, out: Output): Promise<void> {
  const stdout = out.stdout as NodeJS.WriteStream;
  const width = Math.max(40, (stdout.columns ?? 80) - 1);
  const app = render(<Live store={store} view={view} done={false} width={width} color={out.color} />, { stdout, patchConsole: false, exitOnCtrlC: false });
  try {
    await work;
  } finally {
    app.rerender(<Live store={store} view={view} done={true} width={width} color={out.color} />);
    app.unmount();
    await app.waitUntilExit();
  }
}
