import { randomUUID } from 'node:crypto';
import { isCredentialEvent, matchesAnyFilter } from '@pep/contracts';
import { allFilter, type EventBus } from '@pep/events';
import { type Logger, newId } from '@pep/runtime';
import { DeliverPolicy } from '@nats-io/jetstream';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DispatcherDB, JobsTable } from '../db/schema.ts';
import type { EndpointCache } from '../dispatch/endpoint-cache.ts';
import { insertDeliveries, type IntakeEvent, type NewDelivery } from '../dispatch/store.ts';

export type JobRow = Selectable<JobsTable>;
const LEASE_MS = 30_000;
const CHUNK = 500;

export interface JobRunner {
  nudge(): void;
  stop(): Promise<void>;
}

export async function createJob(
  db: Kysely<DispatcherDB>,
  job: { kind: JobRow['kind']; endpoint_id: string; partner_id: string; params: Record<string, unknown> },
  now: Date,
): Promise<JobRow> {
  return db
    .insertInto('webhook_jobs')
    .values({
      id: newId('whjob', now.getTime()),
      ...job,
      params: JSON.stringify(job.params),
      status: 'queued',
      processed: 0,
      deliveries_created: 0,
      deliveries_reused: 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Runs resend / recover / replay jobs. Any replica may run a job: it is claimed with SKIP LOCKED and a lease
 * that is renewed per chunk, and progress (with a cursor) is saved per chunk, so a job whose process died
 * is resumed by another from where it stopped.
 */
export function startJobRunner(o: {
  db: Kysely<DispatcherDB>;
  bus: EventBus;
  cache: EndpointCache;
  logger: Logger;
  attemptBudget: number;
  onDeliveriesDue: () => void;
  intervalMs?: number;
}): JobRunner {
  const { db, logger } = o;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  const claim = async (): Promise<JobRow | undefined> => {
    const r = await sql<JobRow>`
      update webhook_jobs set status = 'running', locked_until = now() + ${LEASE_MS} * interval '1 millisecond', updated_at = now()
      where id = (
        select id from webhook_jobs
        where status in ('queued', 'running') and (locked_until is null or locked_until < now())
        order by created_at limit 1 for update skip locked)
      returning *`.execute(db);
    return r.rows[0];
  };

  /**
   * Progress counts: `deliveries_created` are new delivery rows (new `webhook-id`s), `deliveries_reused` are
   * existing deliveries the job made due again or found already queued (same `webhook-id`).
   */
  const progress = (
    id: string,
    set: { processed?: number; deliveries_created?: number; deliveries_reused?: number; cursor?: string; total?: number },
  ) =>
    sql`update webhook_jobs set
          processed = processed + ${set.processed ?? 0}, deliveries_created = deliveries_created + ${set.deliveries_created ?? 0},
          deliveries_reused = deliveries_reused + ${set.deliveries_reused ?? 0},
          cursor = coalesce(${set.cursor ?? null}, cursor), total = coalesce(${set.total ?? null}::int, total),
          locked_until = now() + ${LEASE_MS} * interval '1 millisecond', updated_at = now()
        where id = ${id}`.execute(db);

  const finish = (id: string, error?: string) =>
    db
      .updateTable('webhook_jobs')
      .set({
        status: error ? 'failed' : 'completed',
        error: error ?? null,
        finished_at: new Date(),
        locked_until: null,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .execute();

  const reopen = sql`status = 'pending', next_attempt_at = now(), attempt_budget = greatest(attempt_budget, attempts + 1),
    locked_until = null, lease_token = null, updated_at = now()`;

  /**
   * Resend reuses the delivery (same `webhook-id`), so it creates none. A finished one (succeeded or failed)
   * gets one more attempt now; a pending one is already queued (due, in flight, or waiting for its next
   * retry) and is left as it is, so a resend never moves a retry schedule or takes a lease from the attempt
   * holding it.
   */
  const runResend = async (job: JobRow) => {
    const id = String(job.params.delivery_id);
    const r = await sql`update webhook_deliveries set ${reopen} where id = ${id} and status <> 'pending'`.execute(db);
    const reopened = Number(r.numAffectedRows ?? 0) > 0;
    const exists =
      reopened || (await db.selectFrom('webhook_deliveries').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
    await progress(job.id, { processed: 1, total: 1, deliveries_reused: exists ? 1 : 0 });
  };

  const runRecover = async (job: JobRow) => {
    const since = String(job.params.since);
    const until = job.params.until ? String(job.params.until) : new Date(job.created_at).toISOString();
    if (job.total === null) {
      const c = await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries
        where endpoint_id = ${job.endpoint_id} and status = 'failed' and created_at >= ${since} and created_at <= ${until}`.execute(db);
      await progress(job.id, { total: c.rows[0]?.n ?? 0 });
    }
    for (;;) {
      const r = await sql`
        with c as (select id from webhook_deliveries
          where endpoint_id = ${job.endpoint_id} and status = 'failed' and created_at >= ${since} and created_at <= ${until}
          order by id limit ${CHUNK} for update skip locked)
        update webhook_deliveries d set ${reopen} from c where d.id = c.id`.execute(db);
      const n = Number(r.numAffectedRows ?? 0);
      if (n === 0) break;
      await progress(job.id, { processed: n, deliveries_reused: n });
      o.onDeliveriesDue();
      if (stopped) return;
    }
  };

  const runReplay = async (job: JobRow) => {
    await o.cache.refresh();
    const ep = o.cache.get(job.endpoint_id);
    if (!ep) throw new Error('endpoint no longer exists');
    const filters = (job.params.event_types as string[] | undefined) ?? ep.row.event_types;
    const until = job.params.until ? new Date(String(job.params.until)).getTime() : new Date(job.created_at).getTime();
    let endSeq = Number(job.params.end_seq ?? 0);
    if (!endSeq) {
      endSeq = (await o.bus.jsm.streams.info(o.bus.stream)).state.last_seq;
      await sql`update webhook_jobs set params = params || ${JSON.stringify({ end_seq: endSeq })}::jsonb where id = ${job.id}`.execute(db);
    }
    const cursor = job.cursor ? Number(job.cursor) : 0;
    const consumer = await o.bus.js.consumers.get(o.bus.stream, {
      filter_subjects: allFilter(o.bus.prefix),
      ...(cursor
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: cursor + 1 }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(String(job.params.since)).toISOString() }),
    });
    const dec = new TextDecoder();
    let firstSeq = 0;
    try {
      let done = false;
      while (!done && !stopped) {
        const batch = await consumer.fetch({ max_messages: CHUNK, expires: 2000 });
        const events: IntakeEvent[] = [];
        const deliveries: NewDelivery[] = [];
        let scanned = 0;
        let last = 0;
        for await (const m of batch) {
          if (m.seq > endSeq || m.info.timestampNanos / 1e6 > until) {
            done = true;
            break;
          }
          if (!firstSeq) firstSeq = m.seq;
          scanned++;
          last = m.seq;
          let ev: { id: string; type: string; partnerid?: string; time: string; traceparent?: string; data?: unknown };
          try {
            ev = JSON.parse(dec.decode(m.data));
          } catch (err) {
            // Not an event (intake dead-lettered it): nothing to deliver.
            logger.debug('undecodable stream message skipped by a job', { seq: m.seq, err });
            continue;
          }
          if (ev.partnerid !== ep.row.partner_id || isCredentialEvent(ev.type) || !matchesAnyFilter(filters, ev.type)) continue;
          if (ev.type === 'webhook.delivery.exhausted' && (ev.data as { endpoint_id?: string })?.endpoint_id === ep.row.id) continue;
          events.push({
            seq: m.seq,
            id: ev.id,
            type: ev.type,
            partner_id: ev.partnerid ?? null,
            time: ev.time,
            traceparent: ev.traceparent ?? null,
            body: dec.decode(m.data),
          });
          deliveries.push({
            id: newId('msg'),
            endpoint_id: ep.row.id,
            partner_id: ep.row.partner_id,
            event_seq: m.seq,
            event_id: ev.id,
            event_type: ev.type,
            event_time: ev.time,
            replay_job_id: job.id,
            attempt_budget: o.attemptBudget,
            lease_ms: null,
            lease_token: null,
          });
          if (m.seq >= endSeq) {
            done = true;
            break;
          }
        }
        if (scanned === 0) break;
        const created = await insertDeliveries(db, events, deliveries);
        await progress(job.id, {
          processed: scanned,
          deliveries_created: created.size,
          // A resumed job meets the rows its earlier run inserted (same endpoint, event and job).
          deliveries_reused: deliveries.length - created.size,
          cursor: String(last),
          ...(job.total === null && firstSeq ? { total: endSeq - firstSeq + 1 } : {}),
        });
        job.total = job.total ?? 0;
        if (created.size) o.onDeliveriesDue();
      }
    } finally {
      await consumer.delete().catch((err: unknown) => logger.warn('deleting a job scan consumer failed (it expires)', { err }));
    }
  };

  const runOne = async () => {
    const job = await claim();
    if (!job) return false;
    const log = logger.child({ job_id: job.id, kind: job.kind });
    try {
      if (job.kind === 'resend') await runResend(job);
      else if (job.kind === 'recover') await runRecover(job);
      else await runReplay(job);
      if (stopped) return false;
      await finish(job.id);
      o.onDeliveriesDue();
      log.info('job completed');
    } catch (err) {
      log.warn('job failed', { err });
      await finish(job.id, err instanceof Error ? err.message : String(err)).catch((e: unknown) =>
        log.error('recording a failed job failed; its lease expires and it runs again', { err: e }),
      );
    }
    return true;
  };

  const tick = () => {
    if (stopped || running) return;
    running = (async () => {
      try {
        while (!stopped && (await runOne())) {
          /* next job */
        }
      } catch (err) {
        logger.warn('job runner tick failed', { err, run: randomUUID() });
      }
    })().finally(() => {
      running = null;
      if (!stopped) timer = setTimeout(tick, o.intervalMs ?? 1000);
    });
  };
  timer = setTimeout(tick, 0);

  return {
    nudge() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
