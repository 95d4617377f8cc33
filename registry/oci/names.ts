// Repository names and tags, validated against the OCI Distribution Spec's
// grammar before they go anywhere (they never reach a filesystem path).
import { OciError } from "./errors.ts";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const MAX_NAME = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function checkName(name: string): string {
  if (!isValidName(name)) {
    throw new OciError("NAME_INVALID", `invalid repository name ${JSON.stringify(name.slice(0, 300))}`, { name: name.slice(0, 300) });
  }
  return name;
}
