import type { PlatformEvent } from '@pep/contracts';
import { aggregateSubject, allFilter, externalSubject, publishMany } from '@pep/events';
import { testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { envelope, readAll, startBillingProcess } from './support/billing.ts';
import { rng } from './support/rng.ts';

const names = testNames('billcrash');
const EVENTS = 10_000;
const PARTNERS = [
  'prt_c0x00000000000000000000000',
  'prt_c1x00000000000000000000000',
  'prt_c2x00000000000000000000000',
  'prt_c3x00000000000000000000000',
  'prt_c4x00000000000000000000000',
];
const BASE = Date.parse('2026-10-01T00:00:00Z');
let billing: Awaited<ReturnType<typeof startBillingProcess>>;

/** The stream: two custom meters first, then 10,000 mixed events over 5 partners and 72 hours. */
function generate(seed: number) {
  const r = rng(seed);
  const P = names.SUBJECT_PREFIX;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const items: { subject: string; event: PlatformEvent }[] = [
    {
      subject: aggregateSubject(P, 'billing_meter', 'crash_users'),
      event: envelope('billing.meter_created', {
        code: 'crash_users',
        event_type: 'app.session',
        aggregation: 'unique_count',
        value_path: '$.user',
      }),
    },
    {
      subject: aggregateSubject(P, 'billing_meter', 'crash_peak'),
      event: envelope('billing.meter_created', {
        code: 'crash_peak',
        event_type: 'app.session',
        aggregation: 'max',
        value_path: '$.seats',
        group_by: { region: '$.region' },
      }),
    },
  ];
  for (let i = 0; i < EVENTS; i++) {
    const partner = pick(PARTNERS);
    const time = new Date(BASE + Math.floor(r() * 72 * 3_600_000)).toISOString();
    const kind = r();
    if (kind < 0.5) {
      const type = pick(['lead.created', 'policy.updated', 'claim.filed', 'user.created']);
      items.push({ subject: externalSubject(P, partner, type), event: envelope(type, { n: i }, { partnerid: partner, time }) });
    } else if (kind < 0.75) {
      const minute = new Date(Math.floor(Date.parse(time) / 60_000) * 60_000).toISOString();
      items.push({
        subject: aggregateSubject(P, 'api_usage', partner),
        event: envelope(
          'api_usage.rolled_up',
          { partner_id: partner, minute, reporter: `gw${i}`, requests: 1 + Math.floor(r() * 500) },
          { partnerid: partner, time: minute },
        ),
      });
    } else {
      items.push({
        subject: externalSubject(P, partner, 'app.session'),
        event: envelope(
          'app.session',
          { user: `u${Math.floor(r() * 40)}`, seats: Math.floor(r() * 1000), region: pick(['eu', 'us']) },
          { partnerid: partner, time },
        ),
      });
    }
  }
  return items;
}

/** Independent fold of the stream: what the usage table must hold (partner|meter|hour|group → value, events). */
function expectedUsage(events: Awaited<ReturnType<typeof readAll>>) {
  const out = new Map<string, { value: number; events: number; distinct?: Set<string> }>();
  const hour = (t: string) => new Date(Math.floor(Date.parse(t) / 3_600_000) * 3_600_000).toISOString();
  const add = (key: string, f: (c: { value: number; events: number; distinct?: Set<string> }) => void) => {
    const c = out.get(key) ?? { value: 0, events: 0 };
    c.events++;
    f(c);
    out.set(key, c);
  };
  for (const e of events) {
    const p = e.partnerid as string;
    // The test's own events: api_usage carries `requests`, app.session `user`, `region` and `seats`.
    const d = e.data as { requests: number; user: string; region: string; seats: number };
    if (['lead.created', 'policy.updated', 'claim.filed', 'user.created'].includes(e.type)) {
      add(`${p}|events_ingested|${hour(e.time)}|`, (c) => {
        c.value++;
      });
    } else if (e.type === 'api_usage.rolled_up') {
      add(`${p}|api_requests|${hour(e.time)}|`, (c) => {
        c.value += d.requests;
      });
    } else if (e.type === 'app.session') {
      add(`${p}|crash_users|${hour(e.time)}|`, (c) => {
        c.distinct ??= new Set();
        c.distinct.add(d.user);
        c.value = c.distinct.size;
      });
      add(`${p}|crash_peak|${hour(e.time)}|${JSON.stringify({ region: d.region })}`, (c) => {
        c.value = c.events === 1 ? d.seats : Math.max(c.value, d.seats);
      });
    }
  }
  return [...out].map(([k, c]) => `${k}=${c.value}/${c.events}`).sort();
}

beforeAll(async () => {
  billing = await startBillingProcess(names);
  await billing.proc.stop('SIGKILL');
});
afterAll(async () => {
  await billing?.stop();
});

describe('metering under kill -9', () => {
  it('ends with usage equal to a fold of the stream after a crash mid-way and a restart', async () => {
    const items = generate(20261201);
    for (let i = 0; i < items.length; i += 500) await publishMany(billing.bus, items.slice(i, i + 500));
    // Re-sent events (same ids) are dropped by the stream's dedupe and must not count.
    const resent = await publishMany(billing.bus, items.slice(100, 300));
    expect(resent.every((a) => a.duplicate)).toBe(true);
    const lastSeq = (await billing.bus.jsm.streams.info(billing.bus.stream)).state.last_seq;
    expect(lastSeq).toBe(EVENTS + 2);

    await billing.restart();
    await waitUntil(async () => (await billing.checkpoint(USAGE_PROJECTION)) > 0, {
      intervalMs: 2,
      timeoutMs: 60_000,
      what: 'first batch',
    });
    billing.proc.child.kill('SIGKILL');
    expect(await billing.proc.exited).toBe(-1);
    const atCrash = await billing.checkpoint(USAGE_PROJECTION);
    console.info(`billing-usage killed at checkpoint ${atCrash} of ${lastSeq}`);
    expect(atCrash).toBeGreaterThan(0);
    expect(atCrash).toBeLessThan(lastSeq);

    await billing.restart();
    await billing.caughtUp(USAGE_PROJECTION, undefined, 120_000);

    const rows = await billing.db.selectFrom('usage_hourly').selectAll().execute();
    const actual = rows
      .map((r) => `${r.partner_id}|${r.meter}|${r.hour.toISOString()}|${r.group_key}=${Number(r.value)}/${r.events}`)
      .sort();
    const want = expectedUsage(await readAll(billing.bus, allFilter(names.SUBJECT_PREFIX)));
    expect(actual.length).toBeGreaterThan(500);
    expect(actual).toEqual(want);
    const total = (m: string) => want.filter((w) => w.includes(`|${m}|`)).reduce((s, w) => s + Number(w.split('/')[1]), 0);
    expect(total('events_ingested') + total('api_requests') + total('crash_users')).toBe(EVENTS);
  });
});
