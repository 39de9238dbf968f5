import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type Page } from '../api.ts';
import { Card, ErrorNote, when } from '../ui.tsx';
import { Scroll } from './form-parts.tsx';

interface Payout {
  id: string;
  status: string;
  period: { start: string; end: string };
  currency: string;
  subtotal: number;
  carried_in: number;
  payable: number;
  carried_out: number;
  transfer_id: string | null;
  failure_reason: string | null;
  created_at: string;
}
interface StatementLine {
  kind: 'payment' | 'refund_reversal';
  source_id: string;
  charge_id: string;
  customer_id: string;
  occurred_at: string;
  amount: number;
  contract_year: 'first' | 'renewal';
  percent: number;
  share: number;
}
interface Statement extends Payout {
  minimum: number;
  total: number;
  lines: StatementLine[];
}

/** Integer minor units → "12.34 EUR" (two-decimal currencies; the API carries the ISO code). */
const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

/** Revenue-share payouts (billing roles only: the gateway refuses `read:billing` to other roles whatever the page does). */
export function PayoutsPage() {
  const [open, setOpen] = useState('');
  const payouts = useQuery({ queryKey: ['payouts'], queryFn: () => api<Page<Payout>>('GET', '/v1/billing/payouts?limit=100') });
  return (
    <>
      <h1>Payouts</h1>
      <Card title="Payouts">
        <ErrorNote error={payouts.error} />
        <Scroll label="Payouts table">
          <table>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Status</th>
                <th scope="col">Subtotal</th>
                <th scope="col">Carried in</th>
                <th scope="col">Payable</th>
                <th scope="col">Carried out</th>
              </tr>
            </thead>
            <tbody>
              {payouts.data?.data.map((p) => (
                <tr key={p.id}>
                  <td>
                    <button type="button" className="link" aria-expanded={open === p.id} onClick={() => setOpen(p.id)}>
                      <span className="sr-only">Statement of </span>
                      {p.period.start} – {p.period.end}
                    </button>
                  </td>
                  <td>
                    {p.status}
                    {p.failure_reason ? ` (${p.failure_reason})` : ''}
                  </td>
                  <td>{money(p.subtotal, p.currency)}</td>
                  <td>{money(p.carried_in, p.currency)}</td>
                  <td>{money(p.payable, p.currency)}</td>
                  <td>{money(p.carried_out, p.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
        {payouts.data?.data.length === 0 && <p>No payouts yet: a statement is made each month once your applications earn revenue.</p>}
      </Card>
      {open && <StatementCard payoutId={open} />}
    </>
  );
}

function StatementCard({ payoutId }: { payoutId: string }) {
  const statement = useQuery({
    queryKey: ['payout-statement', payoutId],
    queryFn: () => api<Statement>('GET', `/v1/billing/payouts/${payoutId}/statement`),
  });
  const s = statement.data;
  return (
    <Card title={`Statement ${payoutId}`}>
      <ErrorNote error={statement.error} />
      {s && (
        <>
          <dl className="facts">
            <dt>Period</dt>
            <dd>
              {s.period.start} – {s.period.end}
            </dd>
            <dt>Total</dt>
            <dd>
              {money(s.subtotal, s.currency)} + {money(s.carried_in, s.currency)} carried in = {money(s.total, s.currency)}
            </dd>
            <dt>Minimum payout</dt>
            <dd>{money(s.minimum, s.currency)}</dd>
            <dt>Payable</dt>
            <dd>{money(s.payable, s.currency)}</dd>
            <dt>Transfer</dt>
            <dd>{s.transfer_id ?? '—'}</dd>
          </dl>
          <Scroll label="Statement lines table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Source payment</th>
                  <th scope="col">Customer</th>
                  <th scope="col">When</th>
                  <th scope="col">Amount</th>
                  <th scope="col">Terms</th>
                  <th scope="col">Share</th>
                </tr>
              </thead>
              <tbody>
                {s.lines.map((l) => (
                  <tr key={`${l.kind}:${l.source_id}`}>
                    <td>
                      <code>{l.source_id}</code>
                      {l.kind === 'refund_reversal' ? ' (refund)' : ''}
                    </td>
                    <td>{l.customer_id}</td>
                    <td>{when(l.occurred_at)}</td>
                    <td>{money(l.amount, s.currency)}</td>
                    <td>
                      {l.percent} % ({l.contract_year === 'first' ? 'first contract year' : 'renewal'})
                    </td>
                    <td>{money(l.share, s.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
          {s.lines.length === 0 && <p>No payments in this period.</p>}
        </>
      )}
    </Card>
  );
}
