import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

// bigint (int8) columns hold stream sequences; they fit in a JS number for any realistic stream.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/** Creates the database named in the URL when it does not exist yet (one database per service). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be lowercase letters, digits and _`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const r = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount === 0) {
      try {
        await client.query(`create database "${name}"`);
      } catch (err) {
        // Two services (or test workers) racing to create the same database.
        if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * A kysely instance over a pg pool that survives the database going away. An idle client whose server
 * connection ends (a Postgres restart, a failover) makes the pool emit `'error'`; without a listener that is an
 * unhandled event that ends the process. Here it is reported (`onError`) and the pool drops the client; queries
 * made while the database is away fail on their own (bounded by `connectionTimeoutMillis`) and the pool
 * connects again once it is back.
 */
export function createDb<DB>(
  url: string,
  opts: { max?: number; connectionTimeoutMs?: number; onError?: (err: Error) => void } = {},
): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
  });
  const onError =
    opts.onError ??
    ((err: Error) => {
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'postgres pool client error', err: err.message })}\n`,
      );
    });
  pool.on('error', (err) => onError(err));
  // A checked-out client can also emit 'error' between queries; the pool's own listener covers idle ones.
  pool.on('connect', (client) => {
    client.on('error', (err) => onError(err));
  });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
