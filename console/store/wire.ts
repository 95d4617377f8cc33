// The generated wire messages (proto/gen) as the console keeps them in its store and prints
// them with --json: plain objects with the message's fields in their .proto order, no
// `$typeName`, 64-bit integers as numbers; and enum values as lower-case names. The console's
// row types are these, derived from the generated types, not copies of them.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";

/** A generated message's fields, with int64s as numbers and nested messages likewise. */
export type Plain<T> = T extends bigint
  ? number
  : T extends readonly (infer E)[]
    ? Plain<E>[]
    : T extends Message
      ? { [K in keyof T as K extends keyof Message ? never : K]: Plain<T[K]> }
      : T extends object
        ? { [K in keyof T]: Plain<T[K]> }
        : T;

/** `msg` as a Plain object, field by field in the schema's order (the console's messages have no oneofs). */
export function plain<M extends Message>(schema: GenMessage<M>, msg: M): Plain<M> {
  return copy(schema, msg as unknown as Record<string, unknown>) as Plain<M>;
}

const number = (v: unknown) => (typeof v === "bigint" ? Number(v) : v);

function copy(desc: DescMessage, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of desc.fields) {
    const v = msg[f.localName];
    switch (f.fieldKind) {
      case "message":
        out[f.localName] = v === undefined ? undefined : copy(f.message, v as Record<string, unknown>);
        break;
      case "list":
        out[f.localName] = (v as unknown[]).map((x) => (f.listKind === "message" ? copy(f.message, x as Record<string, unknown>) : number(x)));
        break;
      case "map":
        out[f.localName] = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, f.mapKind === "message" ? copy(f.message, x) : number(x)]));
        break;
      default:
        out[f.localName] = number(v);
    }
  }
  return out;
}

/** The console's name for a generated enum's values: the value's name in lower case (DeployPhase.PULLING → "pulling"). */
export type EnumName<E extends object> = Lowercase<Exclude<keyof E, "UNSPECIFIED"> & string>;

/** `value`'s name in `e` (a generated enum); `fallback` for UNSPECIFIED and values this build does not know. */
export function enumName<E extends object>(e: E, value: number, fallback: EnumName<E>): EnumName<E> {
  const name = (e as Record<number, string | undefined>)[value];
  return name && name !== "UNSPECIFIED" ? (name.toLowerCase() as EnumName<E>) : fallback;
}

/**
 * Whether two plain values (JSON-like: what `plain` makes, rows, views) hold the same data,
 * compared in place: no string is made of either, as JSON.stringify would for each poll.
 */
export function samePlain(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlain(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !samePlain((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}
