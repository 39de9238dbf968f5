import { aggregateFilter, aggregateSubject, publishMany } from '@pep/events';
import { rpcCall } from '@pep/service';
import { bestEffort, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS_PROJECTION } from '../src/projections/subscriptions/index.ts';
import { admin, envelope, startBillingProcess } from './support/billing.ts';

const names = testNames('billinvcrash');
const PARTNERS = 150;
let billing: Awaited<ReturnType<typeof startBillingProcess>>;

const run = (timeoutMs: number) =>
  rpcCall(billing.bus.nc, `${names.RPC_PREFIX}.billing.invoices.run`, { principal: admin, body: { period: '2026-10' } }, timeoutMs);

beforeAll(async () => {
  billing = await startBillingProcess(names);
  const P = names.SUBJECT_PREFIX;
  const plan = { code: 'basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 3000 };
  await publishMany(billing.bus, [
    { subject: aggregateSubject(P, 'billing_plan', 'basic'), event: envelope('billing.plan_version_published', { version: 1, plan }) },
  ]);
  const subs = Array.from({ length: PARTNERS }, (_, i) => {
    const partner = `prt_crash${String(i).padStart(21, '0')}`;
    return {
      subject: aggregateSubject(P, 'billing_subscription', partner),
      event: envelope(
        'billing.subscription_started',
        {
          partner_id: partner,
          subscription_id: `sub_${partner}`,
          plan_code: 'basic',
          plan_version: 1,
          effective_date: '2026-10-01',
          interval: 'month',
          currency: 'USD',
        },
        { partnerid: partner },
      ),
    };
  });
  await publishMany(billing.bus, subs);
  await billing.caughtUp(SUBSCRIPTIONS_PROJECTION, aggregateFilter(P, 'billing_subscription'));
});
afterAll(async () => {
  await billing?.stop();
});

describe('invoice run under kill -9', () => {
  it('killed mid-run and run again, leaves exactly one invoice per partner, numbered 1..N without gaps', { timeout: 150_000 }, async () => {
    const invoices = async () =>
      (
        await billing.db
          .selectFrom('invoices')
          .select(({ fn }) => fn.countAll<string>().as('n'))
          .executeTakeFirst()
      )?.n;
    // The killed process never answers this request: it is left to time out on its own.
    void run(120_000).catch((err: unknown) => bestEffort('the run the crash interrupts', Promise.reject(err)));
    await waitUntil(async () => Number(await invoices()) >= 10, {
      intervalMs: 5,
      timeoutMs: 30_000,
      what: 'the run to be under way',
    }).catch((err) => {
      throw new Error(`${(err as Error).message} (${PARTNERS}); output:\n${billing.proc.output().slice(-3000)}`);
    });
    billing.proc.child.kill('SIGKILL');
    expect(await billing.proc.exited).toBe(-1);
    const atCrash = Number(await invoices());
    console.info(`invoice run killed after ${atCrash} of ${PARTNERS} invoices`);
    expect(atCrash).toBeLessThan(PARTNERS);

    await billing.restart();
    const again = await run(120_000);
    expect(again.ok).toBe(true);
    const rows = await billing.db.selectFrom('invoices').selectAll().execute();
    expect(rows).toHaveLength(PARTNERS);
    expect(new Set(rows.map((r) => r.partner_id)).size).toBe(PARTNERS);
    expect(rows.every((r) => r.status === 'open' && Number(r.total) === 3000)).toBe(true);
    expect(rows.map((r) => r.sequence).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: PARTNERS }, (_, i) => i + 1));
  });
});
