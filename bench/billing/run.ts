// bench/billing (`pnpm bench:billing`), issue 12 point 10: (a) metering throughput — events/s that billing's real
// usage projection (services/billing/src/projections/usage) applies to usage, checkpoint in the same transaction —
// beside (b) the baseline of a raw JetStream consume of the same events (an ordered consumer reading and decoding
// every message, no database), in alternating rounds on one stream of BENCH_EVENTS events (default 40,000: the
// gateway's API rollups, the dispatcher's delivery rollups and partner business events of BENCH_PARTNERS partners);
// then (c) the time the real invoice job (runInvoices) takes to invoice every partner (default 1,000) for the month.
// Floors on the 2-core machine: ratio ≥ 0.25, invoice_run_s ≤ 60. Ends with one JSON line.
import { randomUUID } from 'node:crypto';
import type { Principal, RpcReply } from '@pep/contracts';
import { createDb, dropDatabase, ensureDatabase, migrateToLatest } from '@pep/db';
import {
  aggregateSubject,
  allFilter,
  closeBus,
  connectBus,
  createCommandBus,
  decodeEvent,
  ensureStream,
  externalSubject,
  type ProjectionRunner,
  pgDeadLetters,
  StreamSettingsSchema,
  startProjection,
} from '@pep/events';
import { createLogger } from '@pep/runtime';
import { DeliverPolicy } from '@nats-io/jetstream';
import { dbUrl, testNames } from '@pep/testing';
import { runInvoices } from '../../services/billing/src/app/invoice-job.ts';
import { billingMigrations } from '../../services/billing/src/db/migrations/index.ts';
import type { BillingDB } from '../../services/billing/src/db/schema.ts';
import { planHandlers } from '../../services/billing/src/handlers/plans.ts';
import { billingProjections } from '../../services/billing/src/service.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const FLOORS = { ratio: 0.25, invoice_run_s: 60 };
const ADMIN: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'bench' };
const SETTINGS = { INVOICE_DUE_DAYS: 30, INVOICE_ISSUER: 'bench', INVOICE_NUMBER_PREFIX: 'BEN' };

const partnerId = (i: number) => `prt_bench${String(i).padStart(21, '0')}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;

/** The i-th event of the metered stream: every 10th a delivery rollup, every 5th a business event, else an API rollup. */
function eventAt(prefix: string, i: number) {
  const p = partnerId(i % PARTNERS);
  const minute = new Date(Date.UTC(2026, 9, 1) + Math.floor(i / PARTNERS) * 60_000).toISOString();
  const base = { specversion: '1.0', source: 'bench.billing', schemaversion: 1, datacontenttype: 'application/json', partnerid: p };
  if (i % 10 === 0) {
    return {
      subject: aggregateSubject(prefix, 'webhook_traffic', `we_${i % PARTNERS}`),
      body: {
        ...base,
        id: `whru_${i}_${randomUUID()}`,
        type: 'webhook.deliveries.rolled_up',
        time: minute,
        data: { endpoint_id: `we_${i % PARTNERS}`, partner_id: p, minute, reporter: 'wd1', attempts: 4, succeeded: 3, exhausted: 1 },
      },
    };
  }
  if (i % 5 === 0) {
    return {
      subject: externalSubject(prefix, p, 'lead.created'),
      body: { ...base, id: `evt_${randomUUID()}`, type: 'lead.created', time: minute, data: { lead_id: `l${i}` } },
    };
  }
  return {
    subject: aggregateSubject(prefix, 'api_usage', p),
    body: {
      ...base,
      id: `apiu_${i}_${randomUUID()}`,
      type: 'api_usage.rolled_up',
      time: minute,
      data: { partner_id: p, minute, reporter: 'gw1', requests: 1 + (i % 50), by_status: { '2xx': 1 + (i % 50) } },
    },
  };
}

async function call(
  handlers: ReturnType<typeof planHandlers>,
  pattern: keyof ReturnType<typeof planHandlers>,
  body: unknown,
): Promise<RpcReply> {
  const fn = handlers[pattern];
  if (!fn) throw new Error(`no handler ${pattern}`);
  const r = await fn({ principal: ADMIN, params: {}, query: {}, body, request_id: `bench_${randomUUID()}` });
  if (!r.ok) throw new Error(`${pattern}: ${JSON.stringify(r.problem)}`);
  return r;
}

async function main() {
  console.log(`bench/billing: ${EVENTS} events of ${PARTNERS} partners, ${ROUNDS} rounds (raw consume, metering); node ${process.version}`);
  const names = testNames('benchbill');
  const logger = createLogger('bench', (process.env.BENCH_LOG as 'warn') ?? 'warn');
  const bus = await connectBus({ url: NATS_URL, name: 'bench-billing', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  const url = dbUrl(names, 'billing');
  await ensureDatabase(url);
  const db = createDb<BillingDB>(url);
  const runners = new Map<string, ProjectionRunner>();
  try {
    await migrateToLatest(db, billingMigrations);
    const enc = new TextEncoder();
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, EVENTS - i) }, (_, k) => {
          const { subject, body } = eventAt(names.SUBJECT_PREFIX, i + k);
          return bus.js.publish(subject, enc.encode(JSON.stringify(body)), { msgID: body.id });
        }),
      );
    }
    const last = (await bus.jsm.streams.info(names.STREAM_NAME)).state.last_seq;
    console.log(`published ${EVENTS} events in ${Math.round(performance.now() - t0)} ms (last seq ${last})`);
    const filter = allFilter(names.SUBJECT_PREFIX);

    const raw = async () => {
      const start = performance.now();
      const c = await bus.js.consumers.get(names.STREAM_NAME, {
        filter_subjects: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: 1,
      });
      const messages = await c.consume({ max_messages: 1000 });
      let n = 0;
      for await (const m of messages) {
        if (decodeEvent(m).partnerid) n++;
        if (m.seq >= last) break;
      }
      messages.stop();
      if (n !== EVENTS) throw new Error(`raw consume read ${n} of ${EVENTS}`);
      return (n / (performance.now() - start)) * 1000;
    };

    // The real projections of the billing service; usage first, the others for the invoice run.
    const deadLetters = pgDeadLetters(db);
    const [usage, ...others] = billingProjections(names.SUBJECT_PREFIX);
    if (!usage) throw new Error('no usage projection');
    let usageRunner: ProjectionRunner | undefined;
    const metering = async () => {
      const start = performance.now();
      if (!usageRunner) {
        usageRunner = await startProjection({ bus, db, projection: usage, deadLetters, logger });
        runners.set(usage.name, usageRunner);
      } else {
        await usageRunner.rebuild({ from: 'start' });
      }
      await usageRunner.waitFor(last, 600_000);
      return (EVENTS / (performance.now() - start)) * 1000;
    };

    const rawRates: number[] = [];
    const meterRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      rawRates.push(await raw());
      meterRates.push(await metering());
      console.log(
        `round ${round}: raw consume ${Math.round(rawRates.at(-1) ?? 0)} ev/s, metering ${Math.round(meterRates.at(-1) ?? 0)} ev/s`,
      );
    }
    const requests = await db
      .selectFrom('usage_hourly')
      .select((e) => e.fn.sum<string>('value').as('n'))
      .where('meter', '=', 'api_requests')
      .executeTakeFirstOrThrow();
    let expected = 0;
    for (let i = 0; i < EVENTS; i++) if (i % 10 !== 0 && i % 5 !== 0) expected += 1 + (i % 50);
    if (Number(requests.n) !== expected) throw new Error(`api_requests sums to ${requests.n}, expected ${expected}`);

    // The invoice run: every partner on a hybrid plan (a fee plus graduated API request charges from the usage above).
    for (const p of others) runners.set(p.name, await startProjection({ bus, db, projection: p, deadLetters, logger }));
    const commands = createCommandBus({ bus, logger, projections: runners, source: 'urn:pep:billing' });
    const numbering = createCommandBus({ bus, logger, projections: runners, source: 'urn:pep:billing', maxAttempts: 25 });
    const invoices = { db, commands: numbering, projections: runners, logger, settings: SETTINGS };
    const handlers = planHandlers({ db, commands, now: () => new Date() });
    await call(handlers, 'plans.create', {
      code: 'bench_growth',
      name: 'Bench growth',
      currency: 'USD',
      model: 'hybrid',
      interval: 'month',
      amount: 4900,
      charges: [
        {
          meter: 'api_requests',
          tiering: 'graduated',
          included_units: 100,
          tiers: [
            { up_to: 1000, unit_amount_decimal: '0.5' },
            { up_to: null, unit_amount_decimal: '0.25' },
          ],
        },
      ],
    });
    const ts = performance.now();
    for (let i = 0; i < PARTNERS; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, PARTNERS - i) }, (_, k) =>
          call(handlers, 'subscription.create', { partner_id: partnerId(i + k), plan_code: 'bench_growth', effective_date: '2026-10-01' }),
        ),
      );
    }
    console.log(`${PARTNERS} subscriptions in ${Math.round(performance.now() - ts)} ms`);
    const ti = performance.now();
    const counts = await runInvoices(invoices, '2026-10', '2026-11-02');
    const invoiceRunS = (performance.now() - ti) / 1000;
    if (counts.created !== PARTNERS || counts.finalized !== PARTNERS) throw new Error(`invoice run: ${JSON.stringify(counts)}`);
    console.log(`invoice run: ${counts.created} invoices created and finalized in ${invoiceRunS.toFixed(1)} s`);
    // What the run returned is in the read model: every partner's invoice open, numbered 1..N for the issuer.
    const numbered = await db
      .selectFrom('invoices')
      .select((e) => [e.fn.countAll<string>().as('n'), e.fn.min<number>('sequence').as('lo'), e.fn.max<number>('sequence').as('hi')])
      .where('issuer', '=', SETTINGS.INVOICE_ISSUER)
      .where('status', '=', 'open')
      .executeTakeFirstOrThrow();
    const seqs = await db.selectFrom('invoices').select('sequence').distinct().where('issuer', '=', SETTINGS.INVOICE_ISSUER).execute();
    if (Number(numbered.n) !== PARTNERS || Number(numbered.lo) !== 1 || Number(numbered.hi) !== PARTNERS || seqs.length !== PARTNERS)
      throw new Error(`invoices read model after the run: ${JSON.stringify(numbered)}, ${seqs.length} distinct numbers`);

    const baseline = median(rawRates);
    const meteringEps = median(meterRates);
    const ratio = meteringEps / baseline;
    const met = ratio >= FLOORS.ratio && invoiceRunS <= FLOORS.invoice_run_s;
    console.log(`raw JetStream consume: ${Math.round(baseline)} events/s (baseline)`);
    console.log(`metering (billing-usage projection): ${Math.round(meteringEps)} events/s`);
    console.log(
      `ratio ${ratio.toFixed(2)} (floor ${FLOORS.ratio}), invoice run ${invoiceRunS.toFixed(1)} s (floor ${FLOORS.invoice_run_s}): ${met ? 'met' : 'NOT met'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'billing',
        events: EVENTS,
        partners: PARTNERS,
        baseline_eps: Math.round(baseline),
        metering_eps: Math.round(meteringEps),
        ratio: Math.round(ratio * 100) / 100,
        invoice_run_s: Math.round(invoiceRunS * 10) / 10,
        invoices: counts.created,
        floors: FLOORS,
        met,
      }),
    );
    if (!met) process.exitCode = 1;
  } finally {
    for (const r of runners.values()) await r.stop().catch((err: unknown) => console.error('projection not stopped', err));
    await db.destroy();
    await bus.jsm.streams.delete(names.STREAM_NAME).catch((err: unknown) => console.error('stream not deleted', err));
    await closeBus(bus);
    await dropDatabase(url).catch((err: unknown) => console.error('database not dropped', err));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
