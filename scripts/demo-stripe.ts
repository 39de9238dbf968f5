// The Stripe part of `npm start`'s demo (scripts/start.ts, after the billing step closed the partner's period): the
// invoice is sent to the fake Stripe and paid there, the signed `invoice.payment_succeeded` webhook marks it paid; a platform customer
// the partner referred pays through Stripe, and the month's payout run shows the partner's revenue-share statement.
import type { FakeStripe } from '@pep/testing';

type Step = (text: string) => void;
type Say = (text: string) => void;

export async function demoStripe(
  base: string,
  auth: Record<string, string>,
  partnerId: string,
  fake: FakeStripe,
  step: Step,
  say: Say,
): Promise<void> {
  const call = async (method: string, path: string, body?: unknown, expect = [200, 201]) => {
    const { 'content-type': _json, ...bare } = auth;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? bare : auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  };
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const period = first.toISOString().slice(0, 7);

  // The billing step before this one closed the partner's period: its newest invoice is the one to collect.
  const page = (await call('GET', `/v1/billing/invoices?partner_id=${partnerId}&limit=1`)) as { data?: { id: string }[] };
  const invoiceId = page.data?.[0]?.id;
  if (!invoiceId) throw new Error('the partner has no invoice to collect');
  step(`billing sends ${invoiceId} to Stripe (the fake at ${fake.url}) and collects it; Stripe's signed webhook pays it`);
  const paid = await waitFor('the invoice to be paid', async () => {
    const inv = await call('GET', `/v1/billing/invoices/${invoiceId}`);
    return inv.status === 'paid' ? inv : undefined;
  });
  const atStripe = fake.store.invoices.all().find((i) => i.metadata?.invoice_id === invoiceId);
  const delivered = fake.deliveries.filter((d) => d.type === 'invoice.payment_succeeded' && d.status === 200).length;
  say(
    `   → Stripe invoice ${atStripe?.id} ${atStripe?.status}; ${delivered} signed invoice.payment_succeeded accepted; ${invoiceId} is ${paid.status}`,
  );

  step('a customer the partner referred pays 250.00 through Stripe (metadata.partner_id); the charge webhook syncs it');
  const customer = fake.createCustomer({ email: 'buyer@customer.example', metadata: { partner_id: partnerId } });
  const charge = fake.createCharge({ customer: customer.id, amount: 25_000, created: new Date(first.getTime() + 9 * 86_400_000) });
  await fake.settled();
  say(`   → charge ${charge.id} ${charge.status}`);

  step(`POST /v1/billing/payout-runs { period: "${period}" }: the revenue-share statement, paid by a Connect transfer`);
  const run = await call('POST', '/v1/billing/payout-runs', { period });
  say(`   → ${JSON.stringify(run)}`);
  const payoutId = `po_${partnerId}_${period.replace('-', '')}`;
  const st = (await call('GET', `/v1/billing/payouts/${payoutId}/statement`)) as {
    status: string;
    subtotal: number;
    carried_in: number;
    payable: number;
    carried_out: number;
    transfer_id: string | null;
    lines: { kind: string; source_id: string; amount: number; contract_year: string; percent: number; share: number }[];
  };
  say(`   payout ${payoutId}: ${st.status}${st.transfer_id ? ` (transfer ${st.transfer_id})` : ''}`);
  for (const l of st.lines)
    say(`     ${l.kind.padEnd(16)} ${l.source_id}  ${l.amount} × ${l.percent}% (${l.contract_year} year) = ${l.share}`);
  say(`     subtotal ${st.subtotal} + carried in ${st.carried_in} → payable ${st.payable}, carried over ${st.carried_out}`);
}
