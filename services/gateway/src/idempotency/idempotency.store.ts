import { type Kysely, sql } from 'kysely';
import type { GatewayDB } from '../db/schema.ts';
import type { HttpResult } from '../http/http-result.ts';
import type { StoredIdempotencyKey } from './idempotency-decision.ts';

export interface KeyRef {
  scope: string;
  key: string;
}

export interface AcquireInput extends KeyRef {
  requestHash: string;
  method: string;
  path: string;
  now: Date;
  expiresAt: Date;
}

/** Postgres store of idempotency keys (the gateway's own database). */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<GatewayDB>) {}

  /** Inserts an in-flight record; false when the key already exists. */
  async tryInsert(i: AcquireInput): Promise<boolean> {
    const r = await this.db
      .insertInto('idempotency_keys')
      .values({ scope: i.scope, key: i.key, ...inFlight(i) })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .returning('scope')
      .executeTakeFirst();
    return r !== undefined;
  }

  async get(ref: KeyRef): Promise<StoredIdempotencyKey | undefined> {
    return this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash', 'state', 'status', 'headers', 'body', 'locked_at', 'expires_at'])
      .where('scope', '=', ref.scope)
      .where('key', '=', ref.key)
      .executeTakeFirst();
  }

  /**
   * Takes over a record that is expired, or whose request has held it longer than the lock timeout (a crashed
   * gateway); atomic, so of two requests racing for it one wins.
   */
  async takeOver(i: AcquireInput, lockTimeoutMs: number): Promise<boolean> {
    const staleBefore = new Date(i.now.getTime() - lockTimeoutMs);
    const r = await this.db
      .updateTable('idempotency_keys')
      .set({ ...inFlight(i), created_at: i.now })
      .where('scope', '=', i.scope)
      .where('key', '=', i.key)
      .where((eb) => eb.or([eb('expires_at', '<=', i.now), eb.and([eb('state', '=', 'in_flight'), eb('locked_at', '<', staleBefore)])]))
      .returning('scope')
      .executeTakeFirst();
    return r !== undefined;
  }

  async complete(ref: KeyRef, result: HttpResult): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({
        state: 'done',
        status: result.status,
        headers: sql`${JSON.stringify(result.headers)}::jsonb`,
        body: typeof result.body === 'string' ? result.body : null,
      })
      .where('scope', '=', ref.scope)
      .where('key', '=', ref.key)
      .execute();
  }

  /** Forgets an in-flight record (the request failed with a 5xx or threw): the key may be retried. */
  async release(ref: KeyRef): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('scope', '=', ref.scope)
      .where('key', '=', ref.key)
      .where('state', '=', 'in_flight')
      .execute();
  }

  async purgeExpired(now: Date): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** A record held by the request now running: no stored answer yet. */
function inFlight(i: AcquireInput) {
  return {
    request_hash: i.requestHash,
    method: i.method,
    path: i.path,
    state: 'in_flight' as const,
    status: null,
    headers: null,
    body: null,
    locked_at: i.now,
    expires_at: i.expiresAt,
  };
}
