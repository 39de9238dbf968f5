import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import type { Projection } from './projection-types.ts';

/**
 * The tables a projection's read model is made of, for a rebuild beside the live one:
 * - `owned`: emptied whole by its `reset` (only this read model writes them): rebuilt in a shadow copy and swapped in;
 * - `shared`: emptied only in part (`delete … where …`: other read models keep rows there too): rebuilt in a shadow
 *   copy that, at the switch, also receives the other read models' rows (the live rows that `partial` would not
 *   delete), under a lock that holds their writers for that one transaction.
 */
export interface ProjectionTables {
  owned: string[];
  shared: string[];
  /** The statements of `reset` that empty the shared tables in part, compiled (replayed on a copy at the switch). */
  partial: { table: string; sql: string; parameters: readonly unknown[] }[];
}

/** `reset` empties something that is not a plain table name (a join, a CTE, a function): no rebuild beside. */
export class ProjectionTablesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionTablesError';
  }
}

const unquote = (s: string) =>
  s
    .trim()
    .split('.')
    .map((p) => p.replace(/^"(.*)"$/, '$1'))
    .join('.');
const NAME = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?`;
const DELETE = new RegExp(
  String.raw`^\s*delete\s+from\s+(?:only\s+)?(${NAME})(?:\s+(?:as\s+)?(?!where\b|using\b|returning\b)[A-Za-z_]\w*)?(\s+.*)?$`,
  'is',
);
const TRUNCATE = new RegExp(
  String.raw`^\s*truncate\s+(?:table\s+)?(?:only\s+)?(${NAME}(?:\s*,\s*${NAME})*)(?:\s+(?:restart|continue|cascade|restrict)\b.*)?$`,
  'is',
);

/** Runs nothing: every statement is recorded and answered with no rows (the reset's reads find nothing). */
class RecordingDriver implements Driver {
  constructor(private readonly seen: CompiledQuery[]) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const seen = this.seen;
    return {
      async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
        seen.push(q);
        return { rows: [] };
      },
      async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {},
    };
  }
  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

/**
 * The tables of a projection: those it declares (`tables`, all owned), or else inferred from what its `reset`
 * empties, by running `reset` against a driver that executes nothing and records each statement. `reset` is the
 * read model's own statement of what it consists of (it must empty every table it writes before a rebuild), so a
 * projection needs no second list that could drift from it.
 */
export async function projectionTables<DB>(projection: Projection<DB>): Promise<ProjectionTables> {
  if (projection.tables?.length) return { owned: [...projection.tables], shared: [], partial: [] };
  const seen: CompiledQuery[] = [];
  const dry = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new RecordingDriver(seen),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  try {
    await dry.transaction().execute((trx) => projection.reset(trx));
  } finally {
    await dry.destroy();
  }
  const owned = new Set<string>();
  const partial: ProjectionTables['partial'] = [];
  for (const q of seen) {
    const text = q.sql.trim();
    const t = TRUNCATE.exec(text);
    if (t) {
      for (const name of (t[1] ?? '').split(',')) owned.add(unquote(name));
      continue;
    }
    if (/^\s*truncate\b/i.test(text)) throw new ProjectionTablesError(`projection ${projection.name}: cannot read its reset: ${text}`);
    const d = DELETE.exec(text);
    if (d) {
      const table = unquote(d[1] ?? '');
      const rest = d[2] ?? '';
      if (/\b(using|with)\b/i.test(rest) && !/^\s*where\b/i.test(rest))
        throw new ProjectionTablesError(`projection ${projection.name}: cannot read its reset: ${text}`);
      if (/^\s*where\b/i.test(rest)) partial.push({ table, sql: text, parameters: q.parameters });
      else if (rest.trim() === '') owned.add(table);
      else throw new ProjectionTablesError(`projection ${projection.name}: cannot read its reset: ${text}`);
      continue;
    }
    if (/^\s*(delete|with)\b/i.test(text)) throw new ProjectionTablesError(`projection ${projection.name}: cannot read its reset: ${text}`);
  }
  const shared = [...new Set(partial.map((p) => p.table))].filter((t) => !owned.has(t));
  return { owned: [...owned], shared, partial: partial.filter((p) => shared.includes(p.table)) };
}

/** Replays one recorded statement (with its parameters) in a transaction. */
export function replay(p: { sql: string; parameters: readonly unknown[] }): CompiledQuery {
  return CompiledQuery.raw(p.sql, [...p.parameters]);
}
