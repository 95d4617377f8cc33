// Releases: every deploy of a service, numbered 1, 2, … per service, with the definition it
// deployed, each component's image and the digest podman had for it, who asked, when, and
// how it ended. A rollback deploys an earlier release's definition with its images pinned
// by digest and is a release of its own that names the one it put back. The newest
// MAX_RELEASES of a service are kept.
import type { Kysely } from "kysely";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { AgentDatabase } from "./schema.ts";

export const MAX_RELEASES = 50;

export interface ReleaseImage {
  component: string;
  image: string;
  /** `repository@sha256:…` as podman stored it; "" when it knew none. */
  digest: string;
}

export interface Release {
  service: string;
  number: number;
  time: string;
  actor: string;
  version: string;
  definition: ServiceDefinition;
  images: ReleaseImage[];
  result: "deployed" | "failed";
  message: string;
  rollbackOf?: number;
}

export type NewRelease = Omit<Release, "number" | "time">;

type Row = AgentDatabase["releases"];

function fromRow(r: Row): Release {
  return {
    service: r.service,
    number: r.number,
    time: r.time,
    actor: r.actor,
    version: r.version,
    definition: JSON.parse(r.definition) as ServiceDefinition,
    images: JSON.parse(r.images) as ReleaseImage[],
    result: r.result === "failed" ? "failed" : "deployed",
    message: r.message,
    ...(r.rollback_of !== null ? { rollbackOf: r.rollback_of } : {}),
  };
}

export class ReleaseStore {
  constructor(private readonly db: Kysely<AgentDatabase>) {}

  /** Records a release under the next number of its service and drops the oldest beyond MAX_RELEASES. */
  async record(r: NewRelease): Promise<Release> {
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom("releases")
        .select((eb) => eb.fn.max("number").as("n"))
        .where("service", "=", r.service)
        .executeTakeFirst();
      const number = Number(last?.n ?? 0) + 1;
      const time = new Date().toISOString();
      await trx
        .insertInto("releases")
        .values({
          service: r.service,
          number,
          time,
          actor: r.actor,
          version: r.version,
          definition: JSON.stringify(r.definition),
          images: JSON.stringify(r.images),
          result: r.result,
          message: r.message,
          rollback_of: r.rollbackOf ?? null,
        })
        .execute();
      await trx
        .deleteFrom("releases")
        .where("service", "=", r.service)
        .where("number", "<=", number - MAX_RELEASES)
        .execute();
      return { ...r, number, time };
    });
  }

  /** A service's releases, newest first. */
  async list(service: string, limit = MAX_RELEASES): Promise<Release[]> {
    const rows = await this.db.selectFrom("releases").selectAll().where("service", "=", service).orderBy("number", "desc").limit(limit).execute();
    return rows.map(fromRow);
  }

  async get(service: string, number: number): Promise<Release | undefined> {
    const row = await this.db.selectFrom("releases").selectAll().where("service", "=", service).where("number", "=", number).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }
}
