// Billing's monthly invoices in the fault flow: the partner of a scenario subscribes to a usage-based plan that
// charges every `events_ingested` unit, its load is stamped in the month before this one (the only kind of month an
// invoice run accepts is one that has ended), and after the faults the invoice run for that month is started
// several times at once, around a SIGKILL of billing, then once more. The oracle: exactly one invoice per partner
// and period, the issuer's numbers gap-free, and the usage line equal to the fold of the stream.
import type { StoredEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { sql } from 'kysely';
import type { Stack } from './stack.ts';

const PLAN = 'fault_metered';
/** Business event families billing's built-in `events_ingested` meter counts (contracts/billing/meters.ts). */
const INGESTED_FAMILIES = new Set(['lead', 'policy', 'claim', 'user', 'integration', 'billing']);

/** The month before `now` ("2026-11") and an instant in it for the load's events. */
export function lastMonth(now = new Date()): { period: string; start: string; eventTime: (i: number) => string } {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const base = first.getTime() + 14 * 86_400_000 + 12 * 3_600_000;
  return {
    period: first.toISOString().slice(0, 7),
    start: first.toISOString().slice(0, 10),
    eventTime: (i) => new Date(base + i * 1000).toISOString(),
  };
}

/** A usage-based plan (1 minor unit per ingested event) and the partner's subscription from the month's first day. */
export async function subscribeMetered(stack: Stack, partnerId: string, effectiveDate: string) {
  const plans = await stack.call(stack.adminKey, 'GET', `/v1/billing/plans/${PLAN}`);
  if (plans.status === 404)
    await stack.must(stack.adminKey, 'POST', '/v1/billing/plans', {
      code: PLAN,
      name: 'Fault metered',
      currency: 'USD',
      model: 'usage_based',
      charges: [{ meter: 'events_ingested', tiering: 'package', package_size: 1, package_amount: 1 }],
    });
  await stack.must(stack.adminKey, 'POST', '/v1/billing/subscriptions', {
    partner_id: partnerId,
    plan_code: PLAN,
    effective_date: effectiveDate,
  });
}

/** What one invoice run answered (or how it failed: a run whose billing process was killed gets no answer). */
async function runOnce(stack: Stack, period: string): Promise<string> {
  try {
    const r = await stack.call(stack.adminKey, 'POST', '/v1/billing/invoice-runs', { period });
    const b = r.body as { created?: number; finalized?: number } | undefined;
    return r.status === 200 ? `200 created ${b?.created} finalized ${b?.finalized}` : `${r.status}`;
  } catch (err) {
    return `error ${(err as Error).name}`;
  }
}

interface InvoiceRow {
  id: string;
  partner_id: string;
  period_start: string;
  number: string | null;
  sequence: number | null;
  status: string;
  lines: { kind: string; meter?: string; quantity: number; amount: number }[];
}

/**
 * Runs the month's invoices three at once while billing is SIGKILLed, three at once again after its restart, and
 * once more when those are done; then reads billing's invoices table and folds the stream for the partner's usage.
 */
export async function invoicesAroundBillingKill(
  stack: Stack,
  stream: { subject: string; event: StoredEvent }[],
  partnerId: string,
  period: string,
) {
  const answers: string[] = [];
  const first = Array.from({ length: 3 }, () => runOnce(stack, period));
  await new Promise((r) => setTimeout(r, 50));
  const pid = stack.procs.get('billing')?.child.pid;
  await stack.killAndRestart('billing');
  const killed = `billing SIGKILLed (pid ${pid} → ${stack.procs.get('billing')?.child.pid}) 50 ms after 3 concurrent invoice runs were started`;
  answers.push(...(await Promise.all(first)));
  answers.push(...(await Promise.all(Array.from({ length: 3 }, () => runOnce(stack, period)))));
  const last = await runOnce(stack, period);
  answers.push(last);

  const monthStart = Date.parse(`${period}-01T00:00:00Z`);
  const monthEnd = new Date(monthStart);
  monthEnd.setUTCMonth(monthEnd.getUTCMonth() + 1);
  const prefix = `${stack.names.SUBJECT_PREFIX}.ext.`;
  const fold = stream.filter((m) => {
    const t = Date.parse(m.event.time);
    return (
      m.subject.startsWith(prefix) &&
      m.event.partnerid === partnerId &&
      INGESTED_FAMILIES.has(m.event.type.split('.')[0] ?? '') &&
      t >= monthStart &&
      t < monthEnd.getTime()
    );
  }).length;
  const db = createDb<Record<string, never>>(stack.pgTemplate.replace('{db}', `${stack.names.DB_PREFIX}billing`), { max: 1 });
  try {
    const r = await sql<InvoiceRow>`select id, partner_id, period_start::text as period_start, number, sequence, status, lines
      from invoices order by sequence`.execute(db);
    const rows = r.rows.map((x) => ({ ...x, lines: typeof x.lines === 'string' ? (JSON.parse(x.lines) as InvoiceRow['lines']) : x.lines }));
    const mine = rows.filter((x) => x.partner_id === partnerId && x.period_start.startsWith(period));
    const usage = mine.flatMap((x) => x.lines.filter((l) => l.kind === 'usage' && l.meter === 'events_ingested'));
    return {
      injected: killed,
      runs: answers,
      last_run: last,
      invoices_of_partner_and_period: mine.length,
      numbers: rows.map((x) => x.number),
      sequences: rows.map((x) => x.sequence),
      statuses: mine.map((x) => x.status),
      usage_line_quantity: usage.map((l) => l.quantity),
      usage_line_amount: usage.map((l) => l.amount),
      fold,
    };
  } finally {
    await db.destroy();
  }
}
