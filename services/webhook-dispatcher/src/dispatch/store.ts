import type { PlatformEvent } from '@pep/contracts';
import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import type { DeliveriesTable, DispatcherDB } from '../db/schema.ts';

export { deliveryId } from './delivery-id.ts';

/** Delivery SQL of the dispatcher: idempotent intake, fair claims with SKIP LOCKED, guarded completions. */

export interface IntakeEvent {
  seq: number;
  id: string;
  type: string;
  partner_id: string | null;
  time: string;
  traceparent: string | null;
  body: string;
}

/** Stores event bodies once per stream sequence (a statement fragment for a CTE). */
const insertEvents = (events: IntakeEvent[]) => sql`
  insert into webhook_events (seq, id, type, partner_id, time, traceparent, body)
  select t.seq, t.id, t.type, t.partner_id, t.time, t.traceparent, t.body
  from json_to_recordset(${JSON.stringify(events)}::json)
    as t(seq bigint, id text, type text, partner_id text, time timestamptz, traceparent text, body text)
  on conflict (seq) do nothing`;

/** The integration errors of the attempts a statement recorded (`recorded`: its CTE of written rows), in the event outbox. */
const eventOutbox = (recorded: RawBuilder<unknown>) => sql`
    events_out as (
      insert into webhook_event_outbox (id, subject, event)
      select i.outbox_event->>'id', i.outbox_event->>'subject', i.outbox_event->'event'
      from ${recorded} w join input i on i.id = w.id where i.outbox_event is not null
      on conflict (id) do nothing
    )`;

export interface NewDelivery {
  id: string;
  endpoint_id: string;
  partner_id: string;
  event_seq: number;
  event_id: string;
  event_type: string;
  event_time: string;
  replay_job_id: string;
  attempt_budget: number;
  /** Lease it to this process at once (ms), or leave it for the poller (null). */
  lease_ms: number | null;
  lease_token: string | null;
}

/**
 * Stores event bodies and creates deliveries in one statement. A delivery that already exists (same
 * endpoint, event and replay job: a redelivered message, another replica) is not created again; only the
 * ids actually created are returned, so only their creator sends them.
 */
export async function insertDeliveries(db: Kysely<DispatcherDB>, events: IntakeEvent[], deliveries: NewDelivery[]): Promise<Set<string>> {
  if (deliveries.length === 0) return new Set();
  // Rows travel as one JSON parameter each (serialised natively by V8, parsed by Postgres in C), not as a
  // dozen text arrays that the driver escapes element by element in JavaScript.
  const r = await sql<{ id: string }>`
    with ev as (
      ${insertEvents(events)}
    )
    insert into webhook_deliveries (id, endpoint_id, partner_id, event_seq, event_id, event_type, event_time, replay_job_id,
      status, attempts, attempt_budget, next_attempt_at, locked_until, lease_token)
    select d.id, d.endpoint_id, d.partner_id, d.event_seq, d.event_id, d.event_type, d.event_time, d.replay_job_id,
      'pending', 0, d.attempt_budget, now(),
      case when d.lease_ms is null then null else now() + d.lease_ms * interval '1 millisecond' end,
      d.lease_token
    from json_to_recordset(${JSON.stringify(deliveries)}::json)
      as d(id text, endpoint_id text, partner_id text, event_seq bigint, event_id text, event_type text, event_time timestamptz,
           replay_job_id text, attempt_budget int, lease_ms int, lease_token text)
    on conflict do nothing
    returning id`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}

/** Which of these delivery ids already have a row (primary-key lookups). */
export async function existingDeliveries(db: Kysely<DispatcherDB>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('webhook_deliveries').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((x) => x.id));
}

/** A first attempt made before its delivery row existed (sent straight from the stream), to be recorded. */
export interface SentDelivery {
  delivery: NewDelivery;
  result: AttemptResult;
}

/**
 * Records first attempts that were sent straight from the stream: the event body, the delivery in the state
 * the attempt left it (succeeded; pending with its retry time; failed) and the attempt, in one statement.
 * A delivery that already exists (another process recorded it first after a redelivery) is left as it is,
 * so no delivery is ever recorded as succeeded twice. Exhausted deliveries get an outbox row in the same
 * statement. Returns the deliveries written.
 */
export async function recordSent(db: Kysely<DispatcherDB>, events: IntakeEvent[], sent: SentDelivery[]): Promise<CompletedDelivery[]> {
  if (sent.length === 0) return [];
  const rows = sent.map(({ delivery: d, result: r }) => ({
    id: d.id,
    endpoint_id: d.endpoint_id,
    partner_id: d.partner_id,
    event_seq: d.event_seq,
    event_id: d.event_id,
    event_type: d.event_type,
    event_time: d.event_time,
    attempt_budget: d.attempt_budget,
    outcome: r.outcome,
    final: r.final,
    retry_delay_ms: r.retry_delay_ms,
    status_code: r.status_code,
    error: r.error,
    error_class: r.error_class,
    started_at: r.started_at,
    latency_ms: r.latency_ms,
    excerpt: r.excerpt,
    mapping_version: r.mapping_version ?? null,
    outbox_event: r.outbox_event ?? null,
  }));
  const r = await sql<CompletedDelivery>`
    with ev as (
      ${insertEvents(events)}
    ),
    input as (
      select * from json_to_recordset(${JSON.stringify(rows)}::json)
        as t(id text, endpoint_id text, partner_id text, event_seq bigint, event_id text, event_type text, event_time timestamptz,
             attempt_budget int, outcome text, final boolean, retry_delay_ms int, status_code int, error text, error_class text,
             started_at timestamptz, latency_ms float8, excerpt text, mapping_version int, outbox_event jsonb)
    ),
    ins as (
      insert into webhook_deliveries (id, endpoint_id, partner_id, event_seq, event_id, event_type, event_time, replay_job_id,
        status, attempts, attempt_budget, next_attempt_at, last_status_code, last_error, succeeded_at)
      select i.id, i.endpoint_id, i.partner_id, i.event_seq, i.event_id, i.event_type, i.event_time, '',
        case when i.outcome = 'succeeded' then 'succeeded' when i.final or i.attempt_budget <= 1 then 'failed' else 'pending' end,
        1, i.attempt_budget,
        case when i.outcome = 'failed' and not i.final and i.attempt_budget > 1
             then now() + i.retry_delay_ms * interval '1 millisecond' end,
        i.status_code, i.error,
        case when i.outcome = 'succeeded' then now() end
      from input i
      on conflict do nothing
      returning id, endpoint_id, partner_id, event_id, event_type, attempts, status, last_status_code, last_error
    ),
    log as (
      insert into webhook_attempts (delivery_id, endpoint_id, attempt, started_at, outcome, status_code, latency_ms, response_excerpt, error_class,
        mapping_version)
      select n.id, n.endpoint_id, 1, i.started_at, i.outcome, i.status_code, i.latency_ms, i.excerpt, i.error_class, i.mapping_version
      from ins n join input i on i.id = n.id
    ),
    outbox as (
      insert into webhook_outbox (delivery_id, attempts) select n.id, n.attempts from ins n where n.status = 'failed'
      on conflict do nothing
    ),
    ${eventOutbox(sql`ins`)}
    select * from ins`.execute(db);
  return r.rows;
}

export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempts: number;
  lease_token: string;
  lease_until: number;
  body: string;
  traceparent: string | null;
  /** When the event was stored in the stream (hand-offs at intake only; for the dispatch-delay metric). */
  stored_at_ms?: number | undefined;
}

/**
 * Claims due deliveries, at most `cap` per endpoint (so each endpoint gets its own share and a backlog on
 * one never crowds out the others), skipping rows another process holds (SKIP LOCKED) or has leased.
 */
export async function claimDue(
  db: Kysely<DispatcherDB>,
  wants: { endpoint_id: string; cap: number; lease_ms: number }[],
  token: string,
): Promise<ClaimedDelivery[]> {
  if (wants.length === 0) return [];
  const r = await sql<Omit<ClaimedDelivery, 'lease_until'> & { lease_until: Date }>`
    with want as (
      select * from unnest(${wants.map((w) => w.endpoint_id)}::text[], ${wants.map((w) => w.cap)}::int[], ${wants.map((w) => w.lease_ms)}::int[])
        as w(endpoint_id, cap, lease_ms)
    ),
    c as (
      select x.id, w.lease_ms from want w
      cross join lateral (
        select d.id from webhook_deliveries d
        where d.endpoint_id = w.endpoint_id and d.status = 'pending' and d.next_attempt_at <= now()
          and (d.locked_until is null or d.locked_until < now())
        order by d.next_attempt_at
        limit w.cap
        for update skip locked
      ) x
    )
    update webhook_deliveries d
    set locked_until = now() + c.lease_ms * interval '1 millisecond', lease_token = ${token}
    from c, webhook_events e
    where d.id = c.id and e.seq = d.event_seq
    returning d.id, d.endpoint_id, d.event_id, d.event_type, d.attempts, d.lease_token, d.locked_until as lease_until, e.body, e.traceparent`.execute(
    db,
  );
  return r.rows.map((x) => ({ ...x, lease_until: new Date(x.lease_until).getTime() }));
}

/** Extends a lease that is running out before an attempt starts; false when the lease was lost. */
export async function renewLease(db: Kysely<DispatcherDB>, id: string, token: string, leaseMs: number): Promise<number | null> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set({ locked_until: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
    .where('id', '=', id)
    .where('lease_token', '=', token)
    .where('status', '=', 'pending')
    .returning('locked_until')
    .executeTakeFirst();
  return row?.locked_until ? new Date(row.locked_until).getTime() : null;
}

/** Gives claimed-but-unsent deliveries back (breaker opened, shutdown); they stay due for any process. */
export async function releaseLeases(db: Kysely<DispatcherDB>, items: { id: string; token: string }[]): Promise<void> {
  if (items.length === 0) return;
  await sql`
    update webhook_deliveries d set locked_until = null, lease_token = null
    from unnest(${items.map((i) => i.id)}::text[], ${items.map((i) => i.token)}::text[]) as r(id, token)
    where d.id = r.id and d.lease_token = r.token and d.status = 'pending'`.execute(db);
}

export interface AttemptResult {
  id: string;
  token: string;
  endpoint_id: string;
  outcome: 'succeeded' | 'failed';
  /** No more attempts whatever the budget (410 Gone). */
  final: boolean;
  /** Delay before the next attempt when it failed and budget remains. */
  retry_delay_ms: number;
  status_code: number | null;
  error: string | null;
  error_class: string | null;
  started_at: Date;
  latency_ms: number;
  excerpt: string | null;
  /** The integration mapping version that shaped the body (null: unmapped). */
  mapping_version?: number | null;
  /** An integration error to put in the event outbox with the record (written only if the attempt is). */
  outbox_event?: { id: string; subject: string; event: PlatformEvent } | null;
}

/** A delivery in the state an attempt left it (the columns the outbox and metrics need). */
export type CompletedDelivery = Pick<
  Selectable<DeliveriesTable>,
  'id' | 'endpoint_id' | 'partner_id' | 'event_id' | 'event_type' | 'attempts' | 'status' | 'last_status_code' | 'last_error'
>;

/**
 * Records a batch of attempts. Each delivery's transition is guarded by its lease token and `pending`
 * status, so a delivery is recorded as succeeded at most once even when two processes raced for it after a
 * lease expired; the attempt log row (and, for an exhausted delivery, its outbox row) is written in the same
 * statement.
 */
export async function completeAttempts(db: Kysely<DispatcherDB>, results: AttemptResult[]): Promise<CompletedDelivery[]> {
  if (results.length === 0) return [];
  const r = await sql<CompletedDelivery>`
    with input as (
      select t.id, t.token, t.outcome, t.final, t.retry_delay_ms as delay_ms, t.status_code as code, t.error as err,
        t.error_class as err_class, t.started_at as started, t.latency_ms as latency, t.excerpt, t.mapping_version, t.outbox_event
      from json_to_recordset(${JSON.stringify(results)}::json)
        as t(id text, token text, outcome text, final boolean, retry_delay_ms int, status_code int, error text, error_class text,
             started_at timestamptz, latency_ms float8, excerpt text, mapping_version int, outbox_event jsonb)
    ),
    upd as (
      update webhook_deliveries d set
        status = case when i.outcome = 'succeeded' then 'succeeded'
                      when i.final or d.attempts + 1 >= d.attempt_budget then 'failed' else 'pending' end,
        attempts = d.attempts + 1,
        next_attempt_at = case when i.outcome = 'failed' and not i.final and d.attempts + 1 < d.attempt_budget
                               then now() + i.delay_ms * interval '1 millisecond' else null end,
        locked_until = null, lease_token = null, last_status_code = i.code, last_error = i.err, updated_at = now(),
        succeeded_at = case when i.outcome = 'succeeded' then now() else d.succeeded_at end
      from input i
      where d.id = i.id and d.lease_token = i.token and d.status = 'pending'
      returning d.id, d.endpoint_id, d.partner_id, d.event_id, d.event_type, d.attempts, d.status, d.last_status_code, d.last_error
    ),
    log as (
      insert into webhook_attempts (delivery_id, endpoint_id, attempt, started_at, outcome, status_code, latency_ms, response_excerpt, error_class,
        mapping_version)
      select u.id, u.endpoint_id, u.attempts, i.started, i.outcome, i.code, i.latency, i.excerpt, i.err_class, i.mapping_version
      from upd u join input i on i.id = u.id
    ),
    outbox as (
      insert into webhook_outbox (delivery_id, attempts) select u.id, u.attempts from upd u where u.status = 'failed'
      on conflict do nothing
    ),
    ${eventOutbox(sql`upd`)}
    select * from upd`.execute(db);
  return r.rows;
}

/** Tracks, per endpoint, the last success and since when it has been failing without one. */
export async function recordHealth(db: Kysely<DispatcherDB>, outcomes: Map<string, boolean>): Promise<void> {
  if (outcomes.size === 0) return;
  const ids = [...outcomes.keys()];
  const oks = ids.map((id) => outcomes.get(id) as boolean);
  await sql`
    insert into webhook_endpoint_health as h (endpoint_id, last_success_at, failing_since)
    select id, case when ok then now() end, case when ok then null else now() end
    from unnest(${ids}::text[], ${oks}::boolean[]) as t(id, ok)
    on conflict (endpoint_id) do update set
      last_success_at = case when excluded.last_success_at is not null then excluded.last_success_at else h.last_success_at end,
      failing_since = case when excluded.last_success_at is not null then null else coalesce(h.failing_since, excluded.failing_since) end`.execute(
    db,
  );
}

export async function endpointsFailingSince(db: Kysely<DispatcherDB>, olderThanMs: number): Promise<string[]> {
  const rows = await db
    .selectFrom('webhook_endpoint_health')
    .select('endpoint_id')
    .where('failing_since', 'is not', null)
    .where('failing_since', '<', sql<Date>`now() - ${olderThanMs} * interval '1 millisecond'`)
    .execute();
  return rows.map((x) => x.endpoint_id);
}

export async function pendingCount(db: Kysely<DispatcherDB>): Promise<number> {
  const r = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Publishes what the outbox holds: reads up to `limit` rows (oldest first), calls `publish` for each, then
 * deletes the rows that were published. No transaction is open while publishing: a replica relaying at the
 * same time may publish a row too, and a crash after a publish leaves its row; the event ids are
 * deterministic, so JetStream's duplicate window stores such a repeat once. A publish that fails leaves its
 * row for the next round.
 */
export async function relayOutbox(
  db: Kysely<DispatcherDB>,
  publish: (d: CompletedDelivery) => Promise<void>,
  limit = 100,
  /** A publish that failed (its row stays): the caller logs and counts it. */
  onFailed?: (d: CompletedDelivery, err: unknown) => void,
): Promise<{ published: number; failed: number }> {
  const rows: CompletedDelivery[] = await db
    .selectFrom('webhook_outbox as o')
    .innerJoin('webhook_deliveries as d', 'd.id', 'o.delivery_id')
    .select([
      'd.id',
      'd.endpoint_id',
      'd.partner_id',
      'd.event_id',
      'd.event_type',
      'o.attempts',
      'd.status',
      'd.last_status_code',
      'd.last_error',
    ])
    .orderBy('o.created_at')
    .limit(limit)
    .execute();
  const done: { id: string; attempts: number }[] = [];
  let failed = 0;
  for (const row of rows) {
    try {
      await publish(row);
      done.push({ id: row.id, attempts: row.attempts });
    } catch (err) {
      failed++;
      onFailed?.(row, err);
    }
  }
  if (done.length)
    await db
      .deleteFrom('webhook_outbox')
      .where((eb) => eb.or(done.map((x) => eb.and([eb('delivery_id', '=', x.id), eb('attempts', '=', x.attempts)]))))
      .execute();
  return { published: done.length, failed };
}
