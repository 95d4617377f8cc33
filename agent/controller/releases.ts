// What the agent knows of each component's releases: the image its definition names, the
// image it last deployed (the components table), and the images of earlier deploys, which
// only its events record: every deploy that made a container writes a "deployed" event
// whose message names the image (deployedMessage). The newest events of a service are kept
// (state/store.ts), so the previous release is known as long as its deploy's event is.
import type { AgentEventRecord } from "../state/store.ts";

export const DEPLOYED_EVENT = "deployed";

/** The message of a "deployed" event: the image first, so that releasesFrom can read it back. */
export const deployedMessage = (image: string) => `${image} running`;

const DEPLOYED_RE = /^(\S+) running$/;

export interface ComponentReleases {
  service: string;
  component: string;
  /** Images deployed, newest first, each once. */
  images: string[];
}

/** Each component's deployed images, newest first, from a service's events (newest first, as recentEvents gives them). */
export function releasesFrom(events: AgentEventRecord[]): ComponentReleases[] {
  const out = new Map<string, ComponentReleases>();
  for (const e of events) {
    if (e.kind !== DEPLOYED_EVENT) continue;
    const image = DEPLOYED_RE.exec(e.message)?.[1];
    if (!image) continue;
    const key = `${e.service}/${e.component}`;
    let r = out.get(key);
    if (!r) out.set(key, (r = { service: e.service, component: e.component, images: [] }));
    if (!r.images.includes(image)) r.images.push(image);
  }
  return [...out.values()];
}
