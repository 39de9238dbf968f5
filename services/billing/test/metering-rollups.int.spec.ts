import { aggregateSubject, publishEvent } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { admin, envelope, partnerPrincipal, startBillingProcess } from './support/billing.ts';

const names = testNames('billroll');
const A = 'prt_metrgaa0000000000000000000';
const B = 'prt_metrgab0000000000000000000';
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
const P = () => names.SUBJECT_PREFIX;

type Install = [type: 'install.created' | 'install.removed', partner: string, customer: string, time: string];
const install = ([type, partner, customer, time]: Install) =>
  publishEvent(
    billing.bus,
    aggregateSubject(P(), 'install', `lst_1-${customer}`),
    envelope(
      type,
      {
        install_id: `ins_${customer}`,
        listing_id: 'lst_1',
        application_id: 'app_1',
        partner_id: partner,
        customer_id: customer,
        installed_at: time,
        installed_by: 'key_x',
        ...(type === 'install.removed' ? { removed_at: time, removed_by: 'key_x', reason: 'uninstalled' } : {}),
      },
      { partnerid: partner, time },
    ),
  );

const deliveries = (partner: string, endpoint: string, minute: string, reporter: string, succeeded: number) =>
  publishEvent(
    billing.bus,
    aggregateSubject(P(), 'webhook_traffic', `${endpoint}_${reporter}`),
    envelope(
      'webhook.deliveries.rolled_up',
      {
        endpoint_id: endpoint,
        partner_id: partner,
        minute,
        reporter,
        attempts: succeeded + 1,
        succeeded,
        exhausted: 1,
        by_class: { success: succeeded, http_5xx: 1 },
        by_event_type: { 'lead.created': { attempts: succeeded + 1, succeeded, exhausted: 1 } },
        latency_ms_buckets: [succeeded + 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        latency_ms_sum: 10,
      },
      { partnerid: partner, time: minute, id: `whru_${endpoint}_${minute.slice(0, 16).replace(/\D/g, '')}_${reporter}` },
    ),
  );

/** The oracle: active installs per partner after each event, the last value of each hour. */
function foldInstalls(list: Install[]): Map<string, [string, number][]> {
  const total = new Map<string, number>();
  const hours = new Map<string, Map<string, number>>();
  for (const [type, partner, , time] of list) {
    const n = (total.get(partner) ?? 0) + (type === 'install.created' ? 1 : -1);
    total.set(partner, n);
    const h = hours.get(partner) ?? new Map<string, number>();
    h.set(`${time.slice(0, 13)}:00:00.000Z`, n);
    hours.set(partner, h);
  }
  return new Map([...hours].map(([p, h]) => [p, [...h]]));
}

const FIRST: Install[] = [
  ['install.created', A, 'c1', '2026-10-05T10:05:00Z'],
  ['install.created', A, 'c2', '2026-10-05T10:20:00Z'],
  ['install.created', B, 'c9', '2026-10-05T10:30:00Z'],
  ['install.created', A, 'c3', '2026-10-05T11:00:00Z'],
  ['install.removed', A, 'c2', '2026-10-05T11:30:00Z'],
];
const AFTER_RESTART: Install[] = [
  ['install.created', A, 'c4', '2026-10-06T09:00:00Z'],
  ['install.removed', A, 'c1', '2026-10-07T09:00:00Z'],
  ['install.removed', A, 'c3', '2026-10-07T09:10:00Z'],
];

beforeAll(async () => {
  billing = await startBillingProcess(names);
  for (const i of FIRST) await install(i);
  await deliveries(A, 'we_a', '2026-10-05T10:30:00Z', 'wd1', 5);
  await deliveries(A, 'we_a', '2026-10-05T10:30:00Z', 'wd1', 5); // re-sent: dropped by the stream's dedupe
  await deliveries(A, 'we_a', '2026-10-05T10:30:00Z', 'wd2', 3); // another replica's own attempts
  await deliveries(A, 'we_b', '2026-10-05T11:59:00Z', 'wd1', 2);
  await billing.caughtUp(USAGE_PROJECTION);
  // The gauge carries over a restart: the next events start from the stored total, not from zero.
  await billing.proc.stop();
  await billing.restart();
  for (const i of AFTER_RESTART) await install(i);
  await billing.caughtUp(USAGE_PROJECTION);
});
afterAll(async () => {
  await billing?.stop();
});

const usage = (partner: string, meter: string, window: string) =>
  billing.ok<{ data: { window_start: string; value: number }[] }>('usage.get', admin, {
    query: { partner_id: partner, meter, window, from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' },
  });
const pairs = (r: { data: { window_start: string; value: number }[] }) => r.data.map((b) => [b.window_start, b.value]);

describe('metering of the rollups and installs', () => {
  it('active_installs is a gauge: each window holds the count after its last change, equal to a fold of the stream', async () => {
    const oracle = foldInstalls([...FIRST, ...AFTER_RESTART]);
    expect(pairs(await usage(A, 'active_installs', 'hour'))).toEqual(oracle.get(A));
    expect(pairs(await usage(B, 'active_installs', 'hour'))).toEqual(oracle.get(B));
    expect(pairs(await usage(A, 'active_installs', 'day'))).toEqual([
      ['2026-10-05T00:00:00.000Z', 2],
      ['2026-10-06T00:00:00.000Z', 3],
      ['2026-10-07T00:00:00.000Z', 1],
    ]);
    expect(pairs(await usage(A, 'active_installs', 'month'))).toEqual([['2026-10-01T00:00:00.000Z', 1]]);
  });

  it('webhook_deliveries_succeeded sums the dispatcher rollups once per (endpoint, minute, replica)', async () => {
    expect(pairs(await usage(A, 'webhook_deliveries_succeeded', 'hour'))).toEqual([
      ['2026-10-05T10:00:00.000Z', 8],
      ['2026-10-05T11:00:00.000Z', 2],
    ]);
    const mine = await billing.ok<{ data: { meter: string; value: number }[] }>('usage.get', partnerPrincipal(B), {
      query: { meter: 'webhook_deliveries_succeeded', window: 'month', from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' },
    });
    expect(mine.data).toEqual([]);
  });
});
