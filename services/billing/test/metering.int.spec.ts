import { aggregateSubject, externalFilter, externalSubject, publishEvent } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTED_USAGE_PROJECTION } from '../src/projections/reported-usage/index.ts';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { admin, envelope, partnerPrincipal, startBillingProcess, statusOf } from './support/billing.ts';

const names = testNames('billmeter');
const A = 'prt_meterax0000000000000000000';
const B = 'prt_meterbx0000000000000000000';
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
const P = () => names.SUBJECT_PREFIX;

const ext = (partner: string | undefined, type: string, data: unknown, time: string, id?: string) =>
  publishEvent(
    billing.bus,
    externalSubject(P(), partner, type),
    envelope(type, data, { ...(partner ? { partnerid: partner } : {}), time, ...(id ? { id } : {}) }),
  );

const CUSTOM_METERS = [
  { code: 'ai_tokens', event_type: 'ai.completion', aggregation: 'sum', value_path: '$.usage.tokens', group_by: { model: '$.model' } },
  { code: 'ai_users', event_type: 'ai.completion', aggregation: 'unique_count', value_path: '$.user' },
  { code: 'peak_seats', event_type: 'seats.reported', aggregation: 'max', value_path: '$.seats' },
  { code: 'last_seats', event_type: 'seats.reported', aggregation: 'latest', value_path: '$.seats' },
];

beforeAll(async () => {
  billing = await startBillingProcess(names);
  for (const m of CUSTOM_METERS) expect(statusOf(await billing.call('meters.create', admin, { body: m }))).toBe(201);

  // events_ingested of A: two in the 10:00 hour, one at 11:00, one the next day, one the next month.
  await ext(A, 'lead.created', { lead_id: 'l1' }, '2026-10-05T10:05:00Z', 'evt_dup_1');
  await ext(A, 'lead.created', { lead_id: 'l1' }, '2026-10-05T10:05:00Z', 'evt_dup_1'); // dropped by the stream's dedupe
  await ext(A, 'policy.created', { policy_id: 'p1' }, '2026-10-05T10:40:00Z');
  await ext(A, 'claim.filed', { claim_id: 'c1' }, '2026-10-05T11:10:00Z');
  await ext(A, 'lead.created', { lead_id: 'l2' }, '2026-10-06T09:00:00Z');
  await ext(A, 'user.created', { user_id: 'u1' }, '2026-11-02T08:00:00Z');
  await ext(B, 'lead.created', { lead_id: 'l3' }, '2026-10-05T10:20:00Z');
  // Not business events, no tenant, or not from outside: not ingested.
  await ext(A, 'feature_flag.changed', { flag_key: 'x' }, '2026-10-05T10:06:00Z');
  await ext(undefined, 'lead.created', { lead_id: 'l4' }, '2026-10-05T10:07:00Z');
  await publishEvent(
    billing.bus,
    aggregateSubject(P(), 'lead', 'l5'),
    envelope('lead.created', { lead_id: 'l5' }, { partnerid: A, time: '2026-10-05T10:08:00Z' }),
  );

  // api_requests: the gateway's minute rollups (one per partner, minute and replica); a re-sent one is deduped.
  const rollup = (minute: string, reporter: string, requests: number) =>
    publishEvent(
      billing.bus,
      aggregateSubject(P(), 'api_usage', A),
      envelope(
        'api_usage.rolled_up',
        { partner_id: A, minute, reporter, requests },
        { partnerid: A, time: minute, id: `apiu_${A}_${minute.slice(0, 16).replace(/\D/g, '')}_${reporter}` },
      ),
    );
  await rollup('2026-10-05T10:01:00Z', 'gw1', 40);
  await rollup('2026-10-05T10:01:00Z', 'gw2', 2);
  await rollup('2026-10-05T10:02:00Z', 'gw1', 5);
  await rollup('2026-10-05T10:01:00Z', 'gw1', 40);

  for (const [reporter, succeeded] of [
    ['wd1', 1],
    ['wd2', 1],
  ] as const) {
    const minute = '2026-10-05T10:30:00Z';
    await publishEvent(
      billing.bus,
      aggregateSubject(P(), 'webhook_traffic', `we_1_${reporter}`),
      envelope(
        'webhook.deliveries.rolled_up',
        {
          endpoint_id: 'we_1',
          partner_id: A,
          minute,
          reporter,
          attempts: succeeded,
          succeeded,
          exhausted: 0,
          by_class: { success: succeeded },
          by_event_type: { 'lead.created': { attempts: succeeded, succeeded, exhausted: 0 } },
          latency_ms_buckets: [succeeded, 0, 0, 0, 0, 0, 0, 0, 0, 0],
          latency_ms_sum: 12,
        },
        { partnerid: A, time: minute, id: `whru_we_1_202610051030_${reporter}` },
      ),
    );
  }

  const ai = (time: string, model: string, tokens: unknown, user: string) =>
    ext(A, 'ai.completion', { model, usage: { tokens }, user }, time);
  await ai('2026-10-05T10:05:00Z', 'a', 100, 'u1');
  await ai('2026-10-05T10:10:00Z', 'b', 50, 'u2');
  await ai('2026-10-05T10:50:00Z', 'a', 25, 'u1');
  await ai('2026-10-05T10:55:00Z', 'a', 'lots', 'u9'); // not a number: no tokens, but a user
  await ai('2026-10-05T11:05:00Z', 'a', 10, 'u1');
  await ai('2026-10-05T11:06:00Z', 'a', 10, 'u3');
  for (const [time, seats] of [
    ['2026-10-05T10:00:00Z', 5],
    ['2026-10-05T10:30:00Z', 9],
    ['2026-10-05T10:45:00Z', 3],
    ['2026-10-05T11:00:00Z', 7],
  ] as const)
    await ext(A, 'seats.reported', { seats }, time);
  await billing.caughtUp(USAGE_PROJECTION);
});
afterAll(async () => {
  await billing?.stop();
});

const usage = (principal: Parameters<typeof billing.ok>[1], query: Record<string, unknown>) =>
  billing.ok<{ data: { window_start: string; window_end: string; value: number; groups?: Record<string, string> }[] }>(
    'usage.get',
    principal,
    { query: { from: '2026-10-01T00:00:00Z', to: '2026-12-01T00:00:00Z', ...query } },
  );
const pairs = (r: { data: { window_start: string; value: number }[] }) => r.data.map((b) => [b.window_start, b.value]);

describe('metering from the stream', () => {
  it('counts partner business events per hour, day and month (dedupe, tenant, origin respected)', async () => {
    const asA = partnerPrincipal(A);
    expect(pairs(await usage(asA, { meter: 'events_ingested', window: 'hour' }))).toEqual([
      ['2026-10-05T10:00:00.000Z', 2],
      ['2026-10-05T11:00:00.000Z', 1],
      ['2026-10-06T09:00:00.000Z', 1],
      ['2026-11-02T08:00:00.000Z', 1],
    ]);
    const days = await usage(asA, { meter: 'events_ingested', window: 'day' });
    expect(pairs(days)).toEqual([
      ['2026-10-05T00:00:00.000Z', 3],
      ['2026-10-06T00:00:00.000Z', 1],
      ['2026-11-02T00:00:00.000Z', 1],
    ]);
    expect(days.data[0]?.window_end).toBe('2026-10-06T00:00:00.000Z');
    const months = await usage(asA, { meter: 'events_ingested', window: 'month' });
    expect(pairs(months)).toEqual([
      ['2026-10-01T00:00:00.000Z', 4],
      ['2026-11-01T00:00:00.000Z', 1],
    ]);
    expect(months.data[0]?.window_end).toBe('2026-11-01T00:00:00.000Z');
    expect(pairs(await usage(partnerPrincipal(B), { meter: 'events_ingested', window: 'hour' }))).toEqual([
      ['2026-10-05T10:00:00.000Z', 1],
    ]);
    // from is inclusive (rounded down to the hour), to exclusive
    expect(
      pairs(await usage(asA, { meter: 'events_ingested', window: 'hour', from: '2026-10-05T11:30:00Z', to: '2026-10-06T09:00:00Z' })),
    ).toEqual([['2026-10-05T11:00:00.000Z', 1]]);
  });

  it('answers every meter at once when none is named', async () => {
    const all = await billing.ok<{ meter: string | null; data: { meter: string; window_start: string; value: number }[] }>(
      'usage.get',
      partnerPrincipal(A),
      { query: { from: '2026-10-05T00:00:00Z', to: '2026-10-06T00:00:00Z', window: 'day' } },
    );
    expect(all.meter).toBeNull();
    expect(all.data.filter((b) => !b.meter.startsWith('ai_')).map((b) => [b.meter, b.value])).toEqual([
      ['api_requests', 47],
      ['events_ingested', 3],
      ['webhook_deliveries_succeeded', 2],
      ['peak_seats', 9],
      ['last_seats', 7],
    ]);
  });

  it('sums the gateway rollups into api_requests and counts successful deliveries', async () => {
    expect(pairs(await usage(admin, { meter: 'api_requests', window: 'day', partner_id: A }))).toEqual([['2026-10-05T00:00:00.000Z', 47]]);
    expect(pairs(await usage(admin, { meter: 'webhook_deliveries_succeeded', window: 'month', partner_id: A }))).toEqual([
      ['2026-10-01T00:00:00.000Z', 2],
    ]);
    expect((await usage(admin, { meter: 'api_requests', window: 'day', partner_id: B })).data).toEqual([]);
  });

  it('folds custom meters with their aggregation and groups', async () => {
    const asA = partnerPrincipal(A);
    const tokens = await usage(asA, { meter: 'ai_tokens', window: 'hour' });
    expect(tokens.data.map((b) => [b.window_start, b.groups, b.value])).toEqual([
      ['2026-10-05T10:00:00.000Z', { model: 'a' }, 125],
      ['2026-10-05T10:00:00.000Z', { model: 'b' }, 50],
      ['2026-10-05T11:00:00.000Z', { model: 'a' }, 20],
    ]);
    expect(pairs(await usage(asA, { meter: 'ai_users', window: 'hour' }))).toEqual([
      ['2026-10-05T10:00:00.000Z', 3],
      ['2026-10-05T11:00:00.000Z', 2],
    ]);
    // distinct over the whole day, not a sum of the hours
    expect(pairs(await usage(asA, { meter: 'ai_users', window: 'day' }))).toEqual([['2026-10-05T00:00:00.000Z', 4]]);
    expect(pairs(await usage(asA, { meter: 'peak_seats', window: 'hour' }))).toEqual([
      ['2026-10-05T10:00:00.000Z', 9],
      ['2026-10-05T11:00:00.000Z', 7],
    ]);
    expect(pairs(await usage(asA, { meter: 'peak_seats', window: 'day' }))).toEqual([['2026-10-05T00:00:00.000Z', 9]]);
    expect(pairs(await usage(asA, { meter: 'last_seats', window: 'hour' }))).toEqual([
      ['2026-10-05T10:00:00.000Z', 3],
      ['2026-10-05T11:00:00.000Z', 7],
    ]);
    expect(pairs(await usage(asA, { meter: 'last_seats', window: 'day' }))).toEqual([['2026-10-05T00:00:00.000Z', 7]]);
  });

  it('meters only the events after a meter is created (usage is a fold of the stream in order)', async () => {
    expect(
      statusOf(
        await billing.call('meters.create', admin, { body: { code: 'late_seats', event_type: 'seats.reported', aggregation: 'count' } }),
      ),
    ).toBe(201);
    await ext(A, 'seats.reported', { seats: 1 }, '2026-10-05T12:00:00Z');
    await billing.caughtUp(USAGE_PROJECTION);
    expect(pairs(await usage(partnerPrincipal(A), { meter: 'late_seats', window: 'day' }))).toEqual([['2026-10-05T00:00:00.000Z', 1]]);
    const meters = await billing.ok<{ data: { code: string; builtin: boolean }[] }>('meters.list', partnerPrincipal(A));
    expect(meters.data.map((m) => [m.code, m.builtin])).toEqual([
      ['api_requests', true],
      ['events_ingested', true],
      ['webhook_deliveries_succeeded', true],
      ['active_installs', true],
      ['ai_tokens', false],
      ['ai_users', false],
      ['peak_seats', false],
      ['last_seats', false],
      ['late_seats', false],
    ]);
  });

  it('refuses bad meters and keeps tenants apart', async () => {
    const conflict = await billing.call('meters.create', admin, { body: CUSTOM_METERS[0] });
    expect(statusOf(conflict)).toBe(409);
    expect(
      statusOf(await billing.call('meters.create', admin, { body: { code: 'api_requests', event_type: 'x.y', aggregation: 'count' } })),
    ).toBe(409);
    const bad = await billing.call('meters.create', admin, { body: { code: 'no_path', event_type: 'x.y', aggregation: 'sum' } });
    expect(statusOf(bad)).toBe(422);
    expect(JSON.stringify(bad)).toContain('value_path');
    expect(
      statusOf(
        await billing.call('meters.create', partnerPrincipal(A), { body: { code: 'mine', event_type: 'x.y', aggregation: 'count' } }),
      ),
    ).toBe(403);

    const other = await billing.call('usage.get', partnerPrincipal(B), { query: { meter: 'events_ingested', partner_id: A } });
    expect(statusOf(other)).toBe(404);
    const unnamed = await billing.call('usage.get', admin, { query: { meter: 'events_ingested' } });
    expect(statusOf(unnamed)).toBe(422);
    expect(JSON.stringify(unnamed)).toContain('partner_id');
    expect(statusOf(await billing.call('usage.get', partnerPrincipal(A), { query: { meter: 'nope' } }))).toBe(404);
    expect(statusOf(await billing.call('reported-usage.list', partnerPrincipal(B), { query: { partner_id: A } }))).toBe(404);
    const backwards = await billing.call('usage.get', partnerPrincipal(A), {
      query: { meter: 'events_ingested', from: '2026-10-06T00:00:00Z', to: '2026-10-05T00:00:00Z' },
    });
    expect(statusOf(backwards)).toBe(422);
    expect(JSON.stringify(backwards)).toContain('"to"');
    expect(statusOf(await billing.call('usage.get', partnerPrincipal(A), { query: { meter: 'events_ingested', window: 'week' } }))).toBe(
      422,
    );
  });
});

describe('rebuild', () => {
  it('rebuilt from the start of the stream, usage and meters come out identical', async () => {
    const read = async () => ({
      usage: (await billing.db.selectFrom('usage_hourly').selectAll().orderBy(['partner_id', 'meter', 'hour', 'group_key']).execute()).map(
        (r) => ({ ...r, hour: r.hour.toISOString() }),
      ),
      unique: await billing.db.selectFrom('usage_unique_values').selectAll().orderBy(['partner_id', 'meter', 'hour', 'value']).execute(),
      meters: await billing.db.selectFrom('meters').select(['code', 'definition', 'seq']).orderBy('seq').execute(),
    });
    const before = await read();
    expect(before.usage.length).toBeGreaterThan(10);
    expect(statusOf(await billing.call('ops.rebuild', admin, { body: { projection: USAGE_PROJECTION, from: 'start' } }))).toBe(202);
    await billing.caughtUp(USAGE_PROJECTION);
    expect(await read()).toEqual(before);
  });
});

describe('partner-reported usage', () => {
  it('keeps the latest reported total per customer, metric and period, visible only to its partner', async () => {
    const report = (partner: string, customer: string, quantity: number) =>
      ext(
        partner,
        'billing.usage_updated',
        { customer_id: customer, metric: 'api_calls', quantity, period_start: '2026-09-01T00:00:00Z', period_end: '2026-10-01T00:00:00Z' },
        '2026-09-15T12:00:00Z',
      );
    await report(A, 'cust_1', 100);
    await report(A, 'cust_2', 7);
    await report(A, 'cust_1', 250); // a total, not a delta: replaces 100
    await report(B, 'cust_1', 1);
    await billing.caughtUp(REPORTED_USAGE_PROJECTION, externalFilter(P()));
    type Rep = { data: { partner_id: string; customer_id: string; quantity: number }[]; has_more: boolean };
    const mine = await billing.ok<Rep>('reported-usage.list', partnerPrincipal(A));
    expect(mine.data.map((r) => [r.customer_id, r.quantity]).sort()).toEqual([
      ['cust_1', 250],
      ['cust_2', 7],
    ]);
    expect(mine.data.every((r) => r.partner_id === A)).toBe(true);
    const page = await billing.ok<Rep>('reported-usage.list', partnerPrincipal(A), { query: { limit: 1 } });
    expect(page.has_more).toBe(true);
    const theirs = await billing.ok<Rep>('reported-usage.list', partnerPrincipal(B));
    expect(theirs.data.map((r) => [r.customer_id, r.quantity])).toEqual([['cust_1', 1]]);
    const one = await billing.ok<Rep>('reported-usage.list', admin, { query: { partner_id: A, customer_id: 'cust_2' } });
    expect(one.data.map((r) => r.quantity)).toEqual([7]);
  });
});
