// Statistics (issue 14 point 3) equal a fold of the stream: a mixed, seeded set of events (partner events, API and
// delivery rollups, incidents, rollback runs) is published; the route answers are compared with an independent fold
// written here, per day, ISO week and month, JSON and CSV, before and after a rebuild from the start of the stream.
import type { Partner, PlatformEvent } from '@pep/contracts';
import { aggregateSubject, externalSubject, publishEvent } from '@pep/events';
import { envelope, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';

const names = testNames('stats');
let reg: Registry;
let A: Partner;
let B: Partner;
const TYPES = ['lead.created', 'policy.created', 'claim.filed'] as const;
type Granularity = 'day' | 'week' | 'month';

/** mulberry32: a seeded stream, so a failure replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Published {
  subject: string;
  event: PlatformEvent;
}
const published: Published[] = [];

function generate(seed: number) {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const P = names.SUBJECT_PREFIX;
  const partners = [A.id, B.id];
  // 2026-09-28 (a Monday) .. 2026-11-08: weeks and a month boundary.
  const time = () => new Date(Date.UTC(2026, 8, 28) + int(0, 41) * 86_400_000 + int(0, 86_399) * 1000).toISOString();
  const minuteOf = (t: string) => `${t.slice(0, 16)}:00Z`;
  for (let i = 0; i < 400; i++) {
    const partner = pick(partners);
    const t = time();
    const kind = int(0, 9);
    if (kind <= 4) {
      const type = pick(TYPES);
      published.push({ subject: externalSubject(P, partner, type), event: envelope(type, { n: i }, { partnerid: partner, time: t }) });
    } else if (kind === 5) {
      const requests = int(1, 50);
      const e4 = int(0, requests);
      const e5 = int(0, requests - e4);
      const m = minuteOf(t);
      published.push({
        subject: aggregateSubject(P, 'api_usage', partner),
        event: envelope(
          'api_usage.rolled_up',
          { partner_id: partner, minute: m, reporter: 'gw1', requests, by_status: { '2xx': requests - e4 - e5, '4xx': e4, '5xx': e5 } },
          { partnerid: partner, time: m, id: `apiu_${partner}_${m.slice(0, 16).replace(/\D/g, '')}_gw1_${i}` },
        ),
      });
    } else if (kind <= 7) {
      const m = minuteOf(t);
      const by: Record<string, { attempts: number; succeeded: number; exhausted: number }> = {};
      for (const type of TYPES.slice(0, int(1, 3))) {
        const succeeded = int(0, 5);
        const exhausted = int(0, 2);
        by[type] = { attempts: succeeded + exhausted + int(0, 3), succeeded, exhausted };
      }
      const sum = (k: 'attempts' | 'succeeded' | 'exhausted') => Object.values(by).reduce((n, c) => n + c[k], 0);
      published.push({
        subject: aggregateSubject(P, 'webhook_traffic', `we_${i}`),
        event: envelope(
          'webhook.deliveries.rolled_up',
          {
            endpoint_id: `we_${i}`,
            partner_id: partner,
            minute: m,
            reporter: 'wd1',
            attempts: sum('attempts'),
            succeeded: sum('succeeded'),
            exhausted: sum('exhausted'),
            by_class: { success: sum('succeeded') },
            by_event_type: by,
            latency_ms_buckets: [sum('attempts'), 0, 0, 0, 0, 0, 0, 0, 0, 0],
            latency_ms_sum: 1,
          },
          { partnerid: partner, time: m },
        ),
      });
    } else if (kind === 8) {
      published.push({
        subject: aggregateSubject(P, 'incident', `inc_${i}`),
        event: envelope(
          'incident.opened',
          { incident_id: `inc_${i}`, partner_id: partner, customer_id: 'c1' },
          { partnerid: partner, time: t },
        ),
      });
    } else {
      const status = pick(['executing', 'skipped', 'dry_run'] as const);
      published.push({
        subject: aggregateSubject(P, 'rollback', `inc_${i}`),
        event: envelope('rollback.planned', { incident_id: `inc_${i}`, partner_id: partner, status }, { partnerid: partner, time: t }),
      });
    }
  }
  // Not any partner's: an external event without a tenant.
  published.push({ subject: externalSubject(P, undefined, 'lead.created'), event: envelope('lead.created', {}, { time: time() }) });
}

// ------------------------------------------------------------------ the oracle (independent of the projection)

const DAY = 86_400_000;
function periodOf(t: string, g: Granularity): string {
  const d = new Date(`${t.slice(0, 10)}T00:00:00Z`);
  if (g === 'month') return `${t.slice(0, 7)}-01`;
  if (g === 'week') return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY).toISOString().slice(0, 10);
  return t.slice(0, 10);
}

type Fig = Record<string, number>;
function fold(g: Granularity) {
  const partner = new Map<string, Map<string, Fig>>();
  const types = new Map<string, Map<string, Fig>>();
  const add = (m: Map<string, Map<string, Fig>>, k1: string, k2: string, f: string, v: number) => {
    if (v === 0) return; // the answers compared below leave zeros out
    const inner = m.get(k1) ?? new Map<string, Fig>();
    const fig = inner.get(k2) ?? {};
    fig[f] = (fig[f] ?? 0) + v;
    inner.set(k2, fig);
    m.set(k1, inner);
  };
  for (const { subject, event: e } of published) {
    const d = e.data as {
      requests: number;
      by_status: Record<string, number>;
      attempts: number;
      succeeded: number;
      exhausted: number;
      by_event_type: Record<string, { attempts: number; succeeded: number; exhausted: number }>;
      status?: string;
    };
    const p = e.partnerid;
    if (!p) continue;
    const per = periodOf(e.time, g);
    if (subject.includes('.ext.')) {
      add(partner, p, per, 'events_published', 1);
      add(partner, p, per, `events:${e.type}`, 1);
      add(types, `${per}|${e.type}`, '', 'events_published', 1);
    } else if (e.type === 'api_usage.rolled_up') {
      const s = d.by_status;
      add(partner, p, per, 'api_requests', d.requests);
      add(partner, p, per, 'api_errors', (s['4xx'] ?? 0) + (s['5xx'] ?? 0));
    } else if (e.type === 'webhook.deliveries.rolled_up') {
      add(partner, p, per, 'delivery_attempts', d.attempts);
      add(partner, p, per, 'deliveries_succeeded', d.succeeded);
      add(partner, p, per, 'deliveries_failed', d.exhausted);
      for (const [type, c] of Object.entries(d.by_event_type)) {
        add(types, `${per}|${type}`, '', 'delivery_attempts', c.attempts);
        add(types, `${per}|${type}`, '', 'deliveries_succeeded', c.succeeded);
        add(types, `${per}|${type}`, '', 'deliveries_failed', c.exhausted);
      }
    } else if (e.type === 'incident.opened') add(partner, p, per, 'incidents', 1);
    else if (e.type === 'rollback.planned' && d.status !== 'skipped') add(partner, p, per, 'rollbacks', 1);
  }
  return { partner, types };
}

const FIGURES = [
  'events_published',
  'api_requests',
  'api_errors',
  'delivery_attempts',
  'deliveries_succeeded',
  'deliveries_failed',
  'incidents',
  'rollbacks',
];
type Bucket = Record<string, unknown> & { period_start: string; events_by_type: Record<string, number> };
const nonZero = (b: Bucket) => {
  const out: Fig = {};
  for (const f of FIGURES) if ((b[f] as number) !== 0) out[f] = b[f] as number;
  for (const [t, n] of Object.entries(b.events_by_type)) out[`events:${t}`] = n;
  return out;
};

/** RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

beforeAll(async () => {
  reg = await startRegistry(names);
  A = await reg.ok<Partner>('partners.create', admin, {
    body: { name: 'Acme, "Best" Ltd', type: 'technology', contact_email: 'a@acme.test' },
  });
  B = await reg.ok<Partner>('partners.create', admin, { body: { name: '=Bravo', type: 'technology', contact_email: 'b@bravo.test' } });
  generate(20261201);
  for (const p of published) await publishEvent(reg.bus, p.subject, p.event);
  await publishEvent(reg.bus, (published[0] as Published).subject, (published[0] as Published).event); // a duplicate: dropped
  await reg.projections.get('stats')?.waitFor(undefined, 60_000);
});
afterAll(async () => {
  await reg?.stop();
});

const RANGE = { from: '2026-09-28', to: '2026-11-09' };

async function expectPartnerStatsEqualFold() {
  for (const g of ['day', 'week', 'month'] as const) {
    const oracle = fold(g).partner;
    for (const p of [A, B]) {
      const r = await reg.ok<{ data: Bucket[]; partner_name: string }>('stats.partner', admin, {
        params: { id: p.id },
        query: { ...RANGE, granularity: g },
      });
      expect(r.partner_name).toBe(p.name);
      const got = Object.fromEntries(
        r.data.map((b): [string, Fig] => [b.period_start, nonZero(b)]).filter(([, f]) => Object.keys(f).length > 0),
      );
      const want = Object.fromEntries([...(oracle.get(p.id) ?? new Map())].sort(([x], [y]) => (x < y ? -1 : 1)));
      expect(got).toEqual(want);
    }
  }
}

describe('statistics', () => {
  it('per partner and day, week and month, equal an independent fold of the stream', async () => {
    await expectPartnerStatsEqualFold();
  });

  it('answers every whole period of the range, weeks from Monday and months from the 1st (UTC)', async () => {
    const weeks = await reg.ok<{ from: string; to: string; data: Bucket[] }>('stats.partner', partnerPrincipal(A.id), {
      params: { id: A.id },
      query: { from: '2026-10-01', to: '2026-10-20', granularity: 'week' },
    });
    expect([weeks.from, weeks.to]).toEqual(['2026-09-28', '2026-10-26']);
    expect(weeks.data.map((b) => [b.period_start, b.period_end])).toEqual([
      ['2026-09-28', '2026-10-05'],
      ['2026-10-05', '2026-10-12'],
      ['2026-10-12', '2026-10-19'],
      ['2026-10-19', '2026-10-26'],
    ]);
    const months = await reg.ok<{ data: Bucket[] }>('stats.partner', admin, {
      params: { id: A.id },
      query: { from: '2026-10-15', to: '2026-11-02', granularity: 'month' },
    });
    expect(months.data.map((b) => b.period_start)).toEqual(['2026-10-01', '2026-11-01']);
  });

  it('per event type: volume and delivery success platform-wide (admin) and a partner its own', async () => {
    const oracle = fold('week').types;
    const all = await reg.ok<{ partner_id: string | null; data: Record<string, number | string | null>[] }>('stats.events', admin, {
      query: { ...RANGE, granularity: 'week' },
    });
    expect(all.partner_id).toBeNull();
    const got = Object.fromEntries(
      all.data.map((r) => [
        `${r.period_start}|${r.type}`,
        Object.fromEntries(
          ['events_published', 'delivery_attempts', 'deliveries_succeeded', 'deliveries_failed']
            .filter((k) => r[k] !== 0)
            .map((k) => [k, r[k]]),
        ),
      ]),
    );
    expect(got).toEqual(Object.fromEntries([...oracle].map(([k, v]) => [k, v.get('') ?? {}])));
    for (const r of all.data) {
      const s = r.deliveries_succeeded as number;
      const f = r.deliveries_failed as number;
      expect(r.delivery_success_rate).toBe(s + f === 0 ? null : Math.round((s / (s + f)) * 10_000) / 10_000);
    }
    const mine = await reg.ok<{ partner_id: string; data: Record<string, unknown>[] }>('stats.events', partnerPrincipal(B.id), {
      query: { ...RANGE, granularity: 'month', type: 'lead.created', partner_id: A.id },
    });
    expect(mine.partner_id).toBe(B.id); // a partner always sees its own, whatever it names
    const leadsOfB = published.filter(
      (p) => p.event.partnerid === B.id && p.subject.includes('.ext.') && p.event.type === 'lead.created',
    ).length;
    expect(mine.data.every((r) => r.type === 'lead.created')).toBe(true);
    expect(mine.data.reduce((n, r) => n + (r.events_published as number), 0)).toBe(leadsOfB);
  });

  it('CSV is well-formed RFC 4180 (quotes, commas, formula guard) and equal to the JSON answer', async () => {
    const query = { ...RANGE, granularity: 'week' };
    const json = await reg.ok<{ data: Bucket[] }>('stats.partner', admin, { params: { id: A.id }, query });
    const reply = await reg.call('stats.partner', admin, { params: { id: A.id }, query: { ...query, format: 'csv' } });
    if (!reply.ok || !reply.file) throw new Error('no CSV file');
    expect(reply.file.content_type).toBe('text/csv; charset=utf-8');
    expect(reply.file.filename).toBe(`partner-stats-${A.id}-2026-09-28-2026-11-09.csv`);
    const text = Buffer.from(reply.file.base64, 'base64').toString('utf8');
    expect(text.split('\r\n')[1]?.startsWith(`${A.id},"Acme, ""Best"" Ltd",2026-09-28,`)).toBe(true);
    const [header, ...rows] = parseCsv(text);
    expect(rows).toHaveLength(json.data.length);
    rows.forEach((row, i) => {
      const b = json.data[i] as Bucket;
      const rec = Object.fromEntries((header as string[]).map((h, j) => [h, row[j]]));
      expect(rec.partner_name).toBe(A.name);
      expect(rec.period_start).toBe(b.period_start);
      for (const f of FIGURES) expect(Number(rec[f])).toBe(b[f]);
      for (const h of (header as string[]).filter((x) => x.startsWith('events:'))) {
        expect(Number(rec[h])).toBe(b.events_by_type[h.slice(7)] ?? 0);
      }
    });
    const bravo = await reg.call('stats.partner', admin, { params: { id: B.id }, query: { ...query, format: 'csv' } });
    if (!bravo.ok || !bravo.file) throw new Error('no CSV file');
    expect(parseCsv(Buffer.from(bravo.file.base64, 'base64').toString('utf8'))[1]?.[1]).toBe("'=Bravo");
    const events = await reg.call('stats.events', admin, { query: { ...query, format: 'csv' } });
    const ejson = await reg.ok<{ data: Record<string, unknown>[] }>('stats.events', admin, { query });
    if (!events.ok || !events.file) throw new Error('no CSV file');
    const [eh, ...erows] = parseCsv(Buffer.from(events.file.base64, 'base64').toString('utf8'));
    expect(erows.map((r) => Object.fromEntries((eh as string[]).map((h, j) => [h, r[j]])))).toEqual(
      ejson.data.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)]))),
    );
  });

  it('keeps tenants apart and refuses bad ranges with 422 naming the field', async () => {
    expect(statusOf(await reg.call('stats.partner', partnerPrincipal(B.id), { params: { id: A.id } }))).toBe(404);
    expect(statusOf(await reg.call('stats.partner', admin, { params: { id: 'prt_00000000000000000000000000' } }))).toBe(404);
    const backwards = await reg.call('stats.partner', admin, { params: { id: A.id }, query: { from: '2026-10-10', to: '2026-10-01' } });
    expect(backwards.ok ? 0 : [backwards.problem.status, JSON.stringify(backwards.problem.errors)]).toEqual([
      422,
      expect.stringContaining('"to"'),
    ]);
    const wide = await reg.call('stats.partner', admin, { params: { id: A.id }, query: { from: '2000-01-01', to: '2026-10-01' } });
    expect(wide.ok ? 0 : [wide.problem.status, JSON.stringify(wide.problem.errors)]).toEqual([422, expect.stringContaining('"from"')]);
    expect(statusOf(await reg.call('stats.events', admin, { query: { granularity: 'year' } }))).toBe(422);
  });

  it('rebuilt from the start of the stream, the statistics come out identical', async () => {
    const runner = reg.projections.get('stats');
    if (!runner) throw new Error('no stats projection');
    await runner.rebuild({ from: 'start' });
    await runner.waitFor(undefined, 60_000);
    await expectPartnerStatsEqualFold();
  });
});
