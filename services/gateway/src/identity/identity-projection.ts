import type { StoredEvent } from '@pep/contracts';
import {
  aggregateFilter,
  decodeEvent,
  type EventBus,
  type Projection,
  type ProjectionRunner,
  type ProjectionStatus,
  pgDeadLetters,
  type StallState,
  startProjection,
  trackProjection,
  startStallWatch,
} from '@pep/events';
import type { Logger } from '@pep/runtime';
import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { GatewayDB } from '../db/schema.ts';
import { type ClientEntry, IdentityState, type KeyEntry, type PartnerEntry } from './identity-state.ts';
import { IDENTITY_TABLES } from './identity-tables.ts';

export const IDENTITY_PROJECTION = 'gateway-identity';

const TABLES = IDENTITY_TABLES;

type Trx = Transaction<GatewayDB>;

/**
 * The persisted copy: each batch of events is folded through the same IdentityState over the rows it
 * touches, inside the projection runner's transaction (exactly once, with the checkpoint).
 */
export function identityProjection(prefix: string): Projection<GatewayDB> {
  return {
    name: IDENTITY_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    async apply(trx, events) {
      const relevant = events.filter((e) => IdentityState.handles(e.type));
      if (relevant.length === 0) return;
      const scratch = new IdentityState();
      const ids = { partner: new Set<string>(), api_key: new Set<string>(), oauth_client: new Set<string>() };
      for (const e of relevant) {
        const d = e.data as Record<string, string>;
        if (e.type.startsWith('partner.')) ids.partner.add(d.partner_id as string);
        else if (e.type.startsWith('api_key.')) ids.api_key.add(d.api_key_id as string);
        else ids.oauth_client.add(d.client_id as string);
      }
      await hydrate(trx, scratch, ids);
      const touched = { partner: new Set<string>(), api_key: new Set<string>(), oauth_client: new Set<string>() };
      for (const e of relevant) {
        const t = scratch.apply(e);
        if (t) touched[t.kind].add(t.id);
      }
      await upsert(
        trx,
        TABLES.partner,
        [...touched.partner].map((id) => scratch.partners.get(id)),
      );
      await upsert(
        trx,
        TABLES.api_key,
        [...touched.api_key].map((id) => scratch.keys.get(id)),
      );
      await upsert(
        trx,
        TABLES.oauth_client,
        [...touched.oauth_client].map((id) => scratch.clients.get(id)),
      );
    },
    async reset(trx) {
      for (const table of Object.values(TABLES)) await trx.deleteFrom(table).execute();
    },
  };
}

async function hydrate(trx: Trx, state: IdentityState, ids: Record<keyof typeof TABLES, Set<string>>) {
  if (ids.partner.size) {
    for (const r of await trx
      .selectFrom(TABLES.partner)
      .select('entry')
      .where('id', 'in', [...ids.partner])
      .execute()) {
      state.putPartner(r.entry);
    }
  }
  if (ids.api_key.size) {
    for (const r of await trx
      .selectFrom(TABLES.api_key)
      .select('entry')
      .where('id', 'in', [...ids.api_key])
      .execute()) {
      state.putKey(r.entry);
    }
  }
  if (ids.oauth_client.size) {
    for (const r of await trx
      .selectFrom(TABLES.oauth_client)
      .select('entry')
      .where('id', 'in', [...ids.oauth_client])
      .execute()) {
      state.putClient(r.entry);
    }
  }
}

async function upsert(
  trx: Trx,
  table: (typeof TABLES)[keyof typeof TABLES],
  entries: (PartnerEntry | KeyEntry | ClientEntry | undefined)[],
): Promise<void> {
  const rows = entries
    .filter((e): e is PartnerEntry | KeyEntry | ClientEntry => e !== undefined)
    .map((e) => ({ id: 'client_id' in e ? e.client_id : e.id, entry: JSON.stringify(e) }));
  if (rows.length === 0) return;
  await trx
    .insertInto(table)
    .values(rows)
    .onConflict((oc) => oc.column('id').doUpdateSet({ entry: sql`excluded.entry` }))
    .execute();
}

export interface IdentityStore {
  readonly state: IdentityState;
  /** Stream sequence of the last event folded into memory. */
  seq(): number;
  /** Resolves when memory has folded everything up to `seq` (default: the stream's last identity event). */
  waitFor(seq?: number, timeoutMs?: number): Promise<void>;
  /** Called after each event is folded into memory (OAuth revocations listen here). */
  onEvent(listener: (event: StoredEvent) => void): void;
  /** The in-memory fold's watchdog state and the persisted projection's status (readiness reports both). */
  status(): Promise<{ memory: StallState; persisted: ProjectionStatus }>;
  stop(): Promise<void>;
}

/**
 * Starts the identity state of one gateway process:
 * 1. loads the persisted projection (rows + checkpoint, one consistent snapshot), so a restart is fast;
 * 2. follows the stream from that checkpoint with its own ordered consumer, folding every event into memory
 *    the moment it arrives (a revocation or suspension takes effect in milliseconds, in every replica);
 * 3. keeps the persisted copy current with the shared projection runner (safe with N replicas).
 */
export async function startIdentityStore(opts: {
  bus: EventBus;
  db: Kysely<GatewayDB>;
  logger: Logger;
  /** Counts a failure the store survives (reading the stream's last identity sequence, stopping the feed). */
  onFailure?: (what: string) => void;
  /** Counts each recreation of a consumer (memory fold or persisted projection) by reason. */
  onRecreate?: (consumer: string, reason: string) => void;
}): Promise<IdentityStore> {
  const { bus, logger, db } = opts;
  const state = new IdentityState();
  const filter = aggregateFilter(bus.prefix);

  const snapshotSeq = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const cp = await trx.selectFrom('projection_checkpoints').select('seq').where('name', '=', IDENTITY_PROJECTION).executeTakeFirst();
      for (const r of await trx.selectFrom(TABLES.partner).select('entry').execute()) state.putPartner(r.entry);
      for (const r of await trx.selectFrom(TABLES.api_key).select('entry').execute()) state.putKey(r.entry);
      for (const r of await trx.selectFrom(TABLES.oauth_client).select('entry').execute()) state.putClient(r.entry);
      return cp?.seq ?? 0;
    });
  logger.info('identity snapshot loaded', {
    seq: snapshotSeq,
    partners: state.partners.size,
    api_keys: state.keys.size,
    oauth_clients: state.clients.size,
  });

  let applied = snapshotSeq;
  const listeners: ((e: StoredEvent) => void)[] = [];
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  // The memory fold is what authenticates requests: a revoked key must stop working within seconds of a broker
  // restart, so its ordered consumer has the same watchdog as the projections (recreated from `applied`).
  const watch = startStallWatch({
    name: 'gateway-identity-memory',
    nc: bus.nc,
    logger,
    applied: () => applied,
    target: async () => {
      const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: filter });
      return m ? m.seq : 0;
    },
    recreate: () => messages?.stop(),
    onRecreate: (reason) => opts.onRecreate?.('gateway-identity-memory', reason),
  });
  const feed = (async () => {
    while (!stopped) {
      try {
        const consumer = await bus.js.consumers.get(bus.stream, {
          filter_subjects: filter,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: applied + 1,
        });
        messages = await consumer.consume({ max_messages: 1000 });
        watch.watch(messages);
        for await (const m of messages) {
          watch.progress();
          if (m.seq <= applied) continue;
          try {
            const event = decodeEvent(m);
            if (state.apply(event)) for (const l of listeners) l(event);
          } catch (err) {
            logger.warn('identity event skipped', { seq: m.seq, err });
          }
          applied = m.seq;
        }
      } catch (err) {
        messages?.stop();
        if (stopped) break;
        logger.warn('identity feed failed, restarting', { err });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();

  const persisted: ProjectionRunner = trackProjection(
    IDENTITY_PROJECTION,
    await startProjection({
      bus,
      db,
      projection: identityProjection(bus.prefix),
      deadLetters: pgDeadLetters(db),
      logger,
      onRecreate: (reason) => opts.onRecreate?.(IDENTITY_PROJECTION, reason),
    }),
  );

  const lastIdentitySeq = async () => {
    // No identity event yet is `null`; a failure to ask is reported and waits for nothing more than memory has.
    const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: filter }).catch((err: unknown) => {
      opts.onFailure?.('identity_last_seq');
      logger.warn('could not read the last identity event; waiting for what memory has', { err });
      return null;
    });
    return m ? m.seq : 0;
  };

  const store: IdentityStore = {
    state,
    seq: () => applied,
    async waitFor(seq, timeoutMs = 30_000) {
      const target = seq ?? (await lastIdentitySeq());
      const deadline = Date.now() + timeoutMs;
      while (applied < target) {
        if (Date.now() > deadline) throw new Error(`identity state did not reach ${target} in ${timeoutMs} ms (at ${applied})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    onEvent(l) {
      listeners.push(l);
    },
    async status() {
      return { memory: watch.state(), persisted: await persisted.status() };
    },
    async stop() {
      stopped = true;
      watch.stop();
      messages?.stop();
      await feed.catch((err: unknown) => {
        opts.onFailure?.('identity_feed_stop');
        logger.warn('identity feed ended with an error', { err });
      });
      await persisted.stop();
    },
  };
  return store;
}
