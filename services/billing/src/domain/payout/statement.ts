import { mul, parseDecimal, ratio, roundMinor } from '../pricing/money.ts';

/** A partner's revenue-share terms from an agreement's effective time (partner.agreement_signed). */
export interface ShareTerms {
  effective_at: string;
  first_year_pct: number;
  renewal_pct: number;
}
export const DEFAULT_TERMS = { first_year_pct: 20, renewal_pct: 10 } as const;

/** A payment attributed to the partner, with the start of that customer's contract. */
export interface SourcePayment {
  charge_id: string;
  customer_id: string;
  amount: number;
  occurred_at: string;
  contract_start: string;
}
/** A refund of an attributed payment: it reverses the share taken of the refunded amount. */
export interface SourceRefund extends SourcePayment {
  refund_id: string;
  /** When the refunded payment was made: its contract year and terms apply to the reversal. */
  charged_at: string;
}

export interface StatementLine {
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

export interface Statement {
  lines: StatementLine[];
  subtotal: number;
  carried_in: number;
  total: number;
  minimum: number;
  payable: number;
  carried_out: number;
}

/** The first contract year ends on the same instant a calendar year after the contract's start (UTC). */
export function firstYearEnd(start: string): number {
  const d = new Date(start);
  return Date.UTC(
    d.getUTCFullYear() + 1,
    d.getUTCMonth(),
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

/** The terms in force at an instant: the latest agreement effective by then, else the defaults (20 / 10). */
export function termsAt(terms: ShareTerms[], at: string): { first_year_pct: number; renewal_pct: number } {
  const t = Date.parse(at);
  let found: ShareTerms | undefined;
  for (const x of terms)
    if (Date.parse(x.effective_at) <= t && (!found || Date.parse(x.effective_at) >= Date.parse(found.effective_at))) found = x;
  return found ?? DEFAULT_TERMS;
}

function shareOf(amount: number, percent: number): number {
  return roundMinor(mul(ratio(amount), mul(parseDecimal(String(percent)), ratio(1, 100))));
}

function lineFor(
  kind: StatementLine['kind'],
  sourceId: string,
  p: SourcePayment,
  chargedAt: string,
  amount: number,
  terms: ShareTerms[],
): StatementLine {
  const year = Date.parse(chargedAt) < firstYearEnd(p.contract_start) ? 'first' : 'renewal';
  const t = termsAt(terms, chargedAt);
  const percent = year === 'first' ? t.first_year_pct : t.renewal_pct;
  return {
    kind,
    source_id: sourceId,
    charge_id: p.charge_id,
    customer_id: p.customer_id,
    occurred_at: p.occurred_at,
    amount,
    contract_year: year,
    percent,
    share: shareOf(amount, percent),
  };
}

/**
 * A monthly payout statement. Each payment earns the first-year percentage while it falls within the first
 * contract year of its customer, the renewal percentage after; a refund reverses the share of the refunded
 * amount at the refunded payment's terms. Each share is rounded once (half away from zero), the subtotal is the
 * sum of the lines, the total adds the balance carried in, and a total below the minimum (or negative) is carried
 * over to the next statement instead of being paid.
 */
export function computeStatement(p: {
  payments: SourcePayment[];
  refunds: SourceRefund[];
  terms: ShareTerms[];
  carriedIn: number;
  minimum: number;
}): Statement {
  const byTime = (a: StatementLine, b: StatementLine) =>
    a.occurred_at.localeCompare(b.occurred_at) || a.source_id.localeCompare(b.source_id);
  const lines = [
    ...p.payments.map((x) => lineFor('payment', x.charge_id, x, x.occurred_at, x.amount, p.terms)),
    ...p.refunds.map((r) => lineFor('refund_reversal', r.refund_id, r, r.charged_at, -r.amount, p.terms)),
  ].sort(byTime);
  const subtotal = lines.reduce((s, l) => s + l.share, 0);
  const total = subtotal + p.carriedIn;
  const payable = total >= p.minimum && total > 0 ? total : 0;
  return { lines, subtotal, carried_in: p.carriedIn, total, minimum: p.minimum, payable, carried_out: total - payable };
}
