// Root's file operations inside folders that a service can write (its storage
// root, its home). A service can replace any folder there with a symbolic link
// to /etc, so no path below the trusted base is ever resolved by name: each
// component is opened with O_NOFOLLOW | O_DIRECTORY and the next one is reached
// through the open folder (/proc/self/fd/N/name: Linux's openat by path). A link
// is refused with a message that names it; ownership and modes are changed
// through the open descriptor (fchown, fchmod), never by path.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  type Stats,
  mkdirSync,
  openSync,
  readSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export class UnsafePathError extends Error {
  override name = "UnsafePathError";
}

export interface Ownership {
  uid: number;
  gid: number;
  /** Mode of every folder walked below the base (and created ones). */
  mode: number;
  /** Apply `mode` to folders that already exist too (storage folders); otherwise only to new ones. */
  enforceMode?: boolean;
  /** An NFS export with all_squash refuses chown; the server maps every write to the UID anyway. */
  tolerateChownRefusal?: boolean;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const at = (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`;

function components(rel: string): string[] {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new UnsafePathError(`${rel}: ".." is not allowed in a service path`);
  return parts;
}

/** What a path that should have been a folder is instead, for the error message. */
function whatIs(fd: number, name: string): string {
  try {
    const st = lstatSync(at(fd, name));
    if (st.isSymbolicLink()) return `a symbolic link to ${readlinkSync(at(fd, name))}`;
    if (st.isFile()) return "a file";
    return "not a folder";
  } catch {
    return "gone";
  }
}

/** Opens `name` inside the open folder `fd` without following a link; creates it if `create`. */
function openChild(fd: number, name: string, shown: string, create: { mode: number } | null): { fd: number; created: boolean } {
  let created = false;
  if (create) {
    try {
      mkdirSync(at(fd, name), create.mode);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  try {
    return { fd: openSync(at(fd, name), DIR_FLAGS), created };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") {
      throw new UnsafePathError(
        `${shown} is ${whatIs(fd, name)}, not a folder: refusing to follow it (a service may have replaced it; move it away and deploy again)`,
      );
    }
    throw err;
  }
}

function own(fd: number, o: Ownership, created: boolean, shown: string): void {
  const st = fstatSync(fd);
  if (st.uid !== o.uid || st.gid !== o.gid) {
    try {
      fchownSync(fd, o.uid, o.gid);
    } catch (err) {
      if (!o.tolerateChownRefusal) throw new Error(`cannot give ${shown} to UID ${o.uid}: ${(err as Error).message}`);
    }
  }
  if ((created || o.enforceMode) && (st.mode & 0o7777) !== o.mode) {
    try {
      fchmodSync(fd, o.mode);
    } catch (err) {
      if (!o.tolerateChownRefusal) throw err;
    }
  }
}

/**
 * Runs `fn` with a descriptor of the folder `base/rel`, creating (and owning) every missing
 * component of `rel`. `base` is trusted (only root can change it); nothing below it is followed.
 */
export function withServiceDir<T>(base: string, rel: string, o: Ownership | null, fn: (fd: number) => T): T {
  let fd = openSync(base, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    let shown = base;
    for (const name of components(rel)) {
      shown = join(shown, name);
      const next = openChild(fd, name, shown, o ? { mode: o.mode } : null);
      closeSync(fd);
      fd = next.fd;
      if (o) own(fd, o, next.created, shown);
    }
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `base/rel` as real folders owned by `o.uid`; throws UnsafePathError at the first link. */
export function ensureServiceDirs(base: string, rel: string, o: Ownership): void {
  withServiceDir(base, rel, o, () => undefined);
}

/** What the end of a path checked by checkPathNoFollow is. */
export type PathEnd = "folder" | "file" | "missing";

/**
 * Checks `base/rel` without following links, as podman is about to mount it: every component
 * must be a real folder, but the last may also be a regular file (a file volume). With
 * `createMode`, missing folders are made with that mode, owned by the agent (existing ones keep
 * their owner and mode); without it the walk stops at the first missing component. A link is
 * UnsafePathError naming it.
 */
export function checkPathNoFollow(base: string, rel: string, createMode?: number): PathEnd {
  let fd: number;
  try {
    fd = openSync(base, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && createMode === undefined) return "missing";
    throw err;
  }
  try {
    const names = components(rel);
    let shown = base;
    for (const [i, name] of names.entries()) {
      shown = join(shown, name);
      let next: ReturnType<typeof openChild>;
      try {
        next = openChild(fd, name, shown, createMode === undefined ? null : { mode: createMode });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
        if (i === names.length - 1 && err instanceof UnsafePathError && lstatSync(at(fd, name), { throwIfNoEntry: false })?.isFile()) return "file";
        throw err;
      }
      closeSync(fd);
      fd = next.fd;
    }
    return "folder";
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `name` in the open folder `dirFd`: a new temp file (O_EXCL, never an existing file or
 * link), owned by `uid`, then renamed over the old name (a link there is replaced, not followed).
 */
export function writeFileIn(dirFd: number, name: string, data: string | Uint8Array, mode: number, owner?: { uid: number; gid: number }): void {
  if (name.includes("/") || name === "." || name === "..") throw new UnsafePathError(`${name} is not a plain file name`);
  const tmp = `.${name}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(at(dirFd, tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(at(dirFd, tmp));
    throw err;
  }
  closeSync(fd);
  renameSync(at(dirFd, tmp), at(dirFd, name));
}

/**
 * Reads the regular file `name` in the open folder `dirFd`: never through a link (O_NOFOLLOW),
 * never blocking on a FIFO (O_NONBLOCK), at most `maxBytes`. A link or anything but a regular
 * file is UnsafePathError.
 */
export function readFileIn(dirFd: number, name: string, maxBytes: number): Buffer {
  if (name.includes("/") || name === "." || name === "..") throw new UnsafePathError(`${name} is not a plain file name`);
  let fd: number;
  try {
    fd = openSync(at(dirFd, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw new UnsafePathError(`${name} is ${whatIs(dirFd, name)}, not a file: refusing to follow it`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(`${name} is not a regular file`);
    if (st.size > maxBytes) throw new Error(`${name} is ${st.size} bytes; at most ${maxBytes} are read`);
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Makes `name` in the open folder a symbolic link to `target` owned by `uid`; replaces a wrong link or file, refuses a folder. */
export function ensureLinkIn(dirFd: number, name: string, target: string, owner: { uid: number; gid: number }, shown: string): void {
  const path = at(dirFd, name);
  let st: Stats | undefined;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isSymbolicLink() && readlinkSync(path) === target) return;
  if (st?.isDirectory()) throw new UnsafePathError(`${shown} is a folder, not a link: move it away and deploy again`);
  if (st) unlinkSync(path); // a link elsewhere or a file: unlink never follows
  symlinkSync(target, path);
  lchownSync(path, owner.uid, owner.gid);
}

/** Removes the link `name` below `base/rel` if it is one; a path that turned into a link on the way is left alone. */
export function removeLinkBelow(base: string, rel: string, name: string): void {
  try {
    withServiceDir(base, rel, null, (fd) => {
      if (lstatSync(at(fd, name)).isSymbolicLink()) unlinkSync(at(fd, name));
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || err instanceof UnsafePathError) return;
    throw err;
  }
}
