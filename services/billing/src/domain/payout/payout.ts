import type { AggregateKind } from '@pep/events';
import { IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { Period } from '../pricing/period.ts';
import type { Statement } from './statement.ts';

export const PAYOUTS_PROJECTION = 'billing-payouts';

/** One payout per partner and month, whoever computes it: the key of the run's idempotency and the transfer's. */
export const payoutIdOf = (partnerId: string, month: Period) => `po_${partnerId}_${month.start.slice(0, 7).replace('-', '')}`;

export type PayoutStatus = 'pending' | 'processing' | 'paid' | 'failed' | 'carried_over';
export interface PayoutState {
  created: boolean;
  partnerId?: string;
  status?: PayoutStatus;
  payable: number;
  currency?: string;
  /** Definitive refusals so far: the next attempt's idempotency key (a refused transfer made nothing at Stripe). */
  failures: number;
  transferId?: string;
}

export const payoutAggregate: AggregateKind<PayoutState> = {
  kind: 'billing_payout',
  initial: () => ({ created: false, payable: 0, failures: 0 }),
  evolve: (s, e) => {
    const d = e.data as { partner_id: string; payable?: number; currency?: string; transfer_id?: string };
    switch (e.type) {
      case 'payout.created':
        return {
          ...s,
          created: true,
          partnerId: d.partner_id,
          payable: d.payable ?? 0,
          currency: d.currency,
          status: (d.payable ?? 0) > 0 ? 'pending' : 'carried_over',
        };
      case 'payout.processing':
        return { ...s, status: 'processing' };
      case 'payout.paid':
        return { ...s, status: 'paid', ...(d.transfer_id ? { transferId: d.transfer_id } : {}) };
      case 'payout.failed':
        return { ...s, status: 'failed', failures: s.failures + 1 };
      default:
        return s;
    }
  },
  projection: PAYOUTS_PROJECTION,
};

/** The Stripe idempotency key of the payout's transfer: the payout id (after n refusals, `<id>:retry-n`). */
export const transferKeyOf = (payoutId: string, failures: number) => (failures === 0 ? payoutId : `${payoutId}:retry-${failures}`);

/** Creating the statement of a partner and month once: a second run decides nothing. */
export function decideCreatePayout(
  c: { payoutId: string; partnerId: string; month: Period; currency: string; statement: Statement },
  s: PayoutState,
) {
  if (s.created) return [];
  return [
    {
      type: 'payout.created' as const,
      data: { payout_id: c.payoutId, partner_id: c.partnerId, period: c.month, currency: c.currency, ...c.statement },
    },
  ];
}

export type PayoutCommand =
  | { type: 'StartTransfer'; destination: string }
  | { type: 'RecordPaid'; transferId: string; destination: string }
  | { type: 'RecordFailed'; reason: string; code: string | null };

/** pending → processing → paid | failed; a failed payout may start again; paid is final. */
export function decidePayout(payoutId: string, c: PayoutCommand, s: PayoutState): { type: string; data: Record<string, unknown> }[] {
  if (!s.created || !s.partnerId) throw new NotFoundError(`payout ${payoutId} not found`);
  const base = { payout_id: payoutId, partner_id: s.partnerId };
  switch (c.type) {
    case 'StartTransfer':
      if (s.status === 'processing') return [];
      if (s.status !== 'pending' && s.status !== 'failed') throw new IllegalTransitionError(`payout ${payoutId} is ${s.status}`);
      return [
        {
          type: 'payout.processing' as const,
          data: { ...base, destination: c.destination, amount: s.payable, currency: s.currency as string },
        },
      ];
    case 'RecordPaid':
      if (s.status === 'paid') return [];
      if (s.status !== 'processing') throw new IllegalTransitionError(`payout ${payoutId} is ${s.status}, not processing`);
      return [
        {
          type: 'payout.paid' as const,
          data: { ...base, transfer_id: c.transferId, destination: c.destination, amount: s.payable, currency: s.currency as string },
        },
      ];
    case 'RecordFailed':
      if (s.status !== 'processing') return [];
      return [{ type: 'payout.failed' as const, data: { ...base, reason: c.reason, code: c.code } }];
    default: {
      const never: never = c;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
