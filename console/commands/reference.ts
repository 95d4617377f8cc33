// Arguments the registry commands share: image references and required values.
import { ConsoleError } from "../output/errors.ts";

/** `repo:tag`, `repo@sha256:…` or `repo` and a separate reference. */
export function splitReference(target: string, reference?: string): { repository: string; reference: string } {
  if (reference) return { repository: target, reference };
  const at = target.indexOf("@");
  if (at > 0) return { repository: target.slice(0, at), reference: target.slice(at + 1) };
  const colon = target.lastIndexOf(":");
  if (colon > target.lastIndexOf("/") && colon > 0) return { repository: target.slice(0, colon), reference: target.slice(colon + 1) };
  return { repository: target, reference: "" };
}

/** A required positional argument of a sub-command. */
export function need(value: string | undefined, what: string): string {
  if (!value) throw new ConsoleError("usage", `missing ${what}`);
  return value;
}
