/** Tables of the Stripe sync, attribution and payouts (migration 1796100000900). */
export interface StripeTables {
  stripe_events: { id: string; type: string; created_at: Date; received_at?: Date };
  stripe_partner_accounts: { partner_id: string; customer_id: string | null; connect_account_id: string | null };
  stripe_invoices: { invoice_id: string; stripe_invoice_id: string; partner_id: string; status: string };
  stripe_charges: {
    id: string;
    stripe_customer_id: string | null;
    /** The platform customer (metadata.customer_id) or else the Stripe customer: whose first contract year it is. */
    customer_key: string;
    partner_id: string | null;
    /** install | referral | partner_invoice (a partner paying its own invoice) | none */
    attribution: string;
    amount: number;
    amount_refunded: number;
    currency: string;
    status: string;
    created_at: Date;
    invoice_id: string | null;
  };
  stripe_refunds: { id: string; charge_id: string; amount: number; created_at: Date };
  stripe_subscriptions: {
    id: string;
    stripe_customer_id: string;
    customer_key: string;
    partner_id: string | null;
    status: string;
    started_at: Date;
    canceled_at: Date | null;
    currency: string;
    amount: number;
  };
  customer_installs: { install_id: string; customer_id: string; partner_id: string; installed_at: Date; removed_at: Date | null };
  revenue_share_terms: { partner_id: string; agreement_id: string; effective_at: Date; first_year_pct: string; renewal_pct: string };
  payouts: {
    id: string;
    partner_id: string;
    period_start: string;
    period_end: string;
    currency: string;
    status: 'pending' | 'processing' | 'paid' | 'failed' | 'carried_over';
    lines: unknown;
    subtotal: number;
    carried_in: number;
    total: number;
    minimum: number;
    payable: number;
    carried_out: number;
    destination: string | null;
    transfer_id: string | null;
    failure_reason: string | null;
    failures: number;
    created_at: string;
    seq: number;
  };
  payout_lines: { source_id: string; payout_id: string };
}
