// What a command such as `mcr init` made, so that a failure half-way can remove it again
// and leave the disk as it found it. Only paths that did not exist before are remembered:
// nothing that was already there is ever removed.
import { lstatSync, mkdirSync, rmSync } from "node:fs";

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export class CreatedPaths {
  private readonly paths: string[] = [];

  /** `mkdir -p`, remembering the topmost folder it made (the rest is inside it). */
  mkdir(path: string, mode: number): void {
    const first = mkdirSync(path, { recursive: true, mode });
    if (first !== undefined) this.paths.push(first);
  }

  /** Call before creating the file or folder `path`: remembers it when it is not there yet. */
  willCreate(path: string): void {
    if (!exists(path)) this.paths.push(path);
  }

  /** Removes what was remembered, newest first; a path that cannot be removed does not stop the rest. */
  removeAll(): string[] {
    const failed: string[] = [];
    for (const p of this.paths.reverse()) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        failed.push(p);
      }
    }
    this.paths.length = 0;
    return failed;
  }
}
