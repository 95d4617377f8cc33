// The one place where the registry's SQL differs between SQLite (the embedded default) and
// PostgreSQL (several replicas, docs/scale-out.md): column types in the migrations, and
// transactions that must be serialisable across replicas (retried on a serialisation
// failure). Queries elsewhere are written once for both.
import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type Expression, type Kysely, type Transaction } from "kysely";

export type DialectName = "sqlite" | "postgres";

export function dialectOf(db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

type DataType = Parameters<ReturnType<Kysely<any>["schema"]["createTable"]>["addColumn"]>[1];
type Modify = (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;

export interface ColumnTypes {
  /** A generated integer primary key. */
  id: [DataType, Modify];
  /** A reference to such a key. */
  ref: DataType;
  /** Byte sizes and offsets: 64 bits (SQLite's integer already is; PostgreSQL's is 32). */
  bigint: DataType;
  bytes: DataType;
  /** Names that are listed in order (tags, repositories, accounts): byte order, as SQLite compares. */
  name: DataType;
  /** The current time as ISO 8601 text with milliseconds and Z, like `new Date().toISOString()`. */
  now: Expression<string>;
}

/**
 * Column types for the migrations. The SQLite types are exactly those the migrations always
 * used, so a database made before PostgreSQL support is the same as one made now.
 */
export function columnTypes(db: Kysely<any>): ColumnTypes {
  if (dialectOf(db) === "postgres") {
    return {
      id: ["bigint", (c) => c.primaryKey().generatedByDefaultAsIdentity()],
      ref: "bigint",
      bigint: "bigint",
      bytes: "bytea",
      name: sql`text collate "C"`,
      now: sql<string>`(to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`,
    };
  }
  return {
    id: ["integer", (c) => c.primaryKey().autoIncrement()],
    ref: "integer",
    bigint: "integer",
    bytes: "blob",
    name: "text",
    now: sql<string>`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
  };
}

/**
 * After rows were inserted with explicit ids (`mcr migrate`), PostgreSQL's identity sequences
 * must move past them; SQLite's autoincrement follows the largest id by itself.
 */
export async function resetIdentities(db: Kysely<any> | Transaction<any>, tables: readonly string[]): Promise<void> {
  if (dialectOf(db as Kysely<any>) !== "postgres") return;
  for (const t of tables) {
    await sql`select setval(pg_get_serial_sequence(${t}, 'id'), coalesce((select max(id) from ${sql.table(t)}), 0) + 1, false)`.execute(db);
  }
}

/** PostgreSQL's serialization_failure and deadlock_detected: the transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "40001" || code === "40P01";
}

const MAX_ATTEMPTS = 10;

/**
 * Runs `fn` in a transaction that no concurrent one can interleave with: on PostgreSQL at
 * SERIALIZABLE isolation, run again (with a short random pause) when the database reports a
 * serialisation failure or deadlock, so `fn` must have no effect outside the database. On
 * SQLite every write transaction already runs alone.
 */
export async function serializable<DB, T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  if (dialectOf(db) === "sqlite") return db.transaction().execute(fn);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel("serializable").execute(fn);
    } catch (err) {
      if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** Math.min(attempt, 6)));
    }
  }
}
