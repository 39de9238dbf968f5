// The billing part of `npm start`'s demo (scripts/start.ts runs it after the other steps).
import { waitUntil } from '@pep/testing';
import type { Mailbox } from './mailbox.ts';

/**
 * Billing: the demo partner subscribes to a monthly plan, an admin closes its current period now
 * (POST /v1/billing/period-closings), and the invoice is read back with its PDF and found in the mailbox.
 */
export async function demoBilling(
  base: string,
  auth: Record<string, string>,
  partnerId: string,
  step: (text: string) => void,
  say: (text: string) => void,
  mailbox: Mailbox | undefined,
): Promise<void> {
  const plan = { code: 'demo_basic', name: 'Demo Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 4900 };
  const made = await fetch(`${base}/v1/billing/plans`, { method: 'POST', headers: auth, body: JSON.stringify(plan) });
  if (made.status !== 201 && made.status !== 409) throw new Error(`create plan answered ${made.status}: ${await made.text()}`);
  const today = new Date().toISOString().slice(0, 10);
  step(`subscribe the partner to demo_basic (USD 49.00 a month) from ${today.slice(0, 8)}01 and close its period now`);
  const sub = await fetch(`${base}/v1/billing/subscriptions`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ partner_id: partnerId, plan_code: 'demo_basic', effective_date: `${today.slice(0, 8)}01` }),
  });
  if (sub.status !== 201) throw new Error(`subscribe answered ${sub.status}: ${await sub.text()}`);
  const closed = await fetch(`${base}/v1/billing/period-closings`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ partner_id: partnerId }),
  });
  const inv = (await closed.json()) as { invoice_id?: string; number?: string; total?: number };
  if (closed.status !== 200 || !inv.invoice_id) throw new Error(`close period answered ${closed.status}: ${JSON.stringify(inv)}`);
  const pdfUrl = `${base}/v1/billing/invoices/${inv.invoice_id}/pdf`;
  const pdf = await fetch(pdfUrl, { headers: { authorization: auth.authorization as string } });
  const bytes = Buffer.from(await pdf.arrayBuffer());
  if (pdf.status !== 200 || bytes.subarray(0, 5).toString() !== '%PDF-') throw new Error(`the invoice PDF answered ${pdf.status}`);
  say(`   → invoice ${inv.invoice_id} number ${inv.number}, total ${inv.total} minor units`);
  say(`   → PDF ${pdfUrl} (${bytes.length} bytes, admin key)`);
  if (mailbox) {
    const box = mailbox;
    const mail = await waitUntil(() => box.messages.find((m) => m.subject.includes(inv.number ?? '\u0000')), {
      timeoutMs: 20_000,
      what: 'the invoice mail in the mailbox',
    });
    say(
      `   → mailed to ${mail.to.join(', ')} with ${mail.attachments.map((a) => a.filename).join(', ')}: ${mailbox.webUrl}/messages/${mail.n}`,
    );
  }
}
