// Where a planned component's volume sources may lie (plan.ts decides it; mount-check.ts
// walks them before every start).

/** Where a component's volume sources may be, and where they are walked from. */
export interface MountScope {
  /** Volume sources must lie under one of these: the allowed volume roots, and the SMEP storage root. */
  roots: string[];
  /** SMEP: the service-environment's storage root (in [storage] root or mount_root, which only root can change). */
  storageRoot?: string;
}

export function underRoot(path: string, roots: string[]): boolean {
  return roots.some((r) => path === r || path.startsWith(r.endsWith("/") ? r : `${r}/`));
}
