import type { PlatformTables } from '@pep/db';
import type { Generated } from 'kysely';
import type { StripeTables } from './stripe-schema.ts';

/** Read models of the billing service; every table is a projection of the stream and can be rebuilt from it. */
export interface BillingTables {
  /** Custom meters (the built-in ones are constants in the contracts). */
  meters: {
    code: string;
    definition: unknown;
    created_at: string;
    seq: number;
  };
  /** Usage per partner, meter, hour and group (group_key '' when the meter has no group_by). */
  usage_hourly: {
    partner_id: string;
    meter: string;
    hour: Date;
    group_key: string;
    groups: unknown;
    value: string;
    events: number;
    last_seq: number;
  };
  /** The distinct values of unique_count meters, per partner, meter, hour and group. */
  usage_unique_values: {
    partner_id: string;
    meter: string;
    hour: Date;
    group_key: string;
    value: string;
  };
  /** Partner-reported usage totals (billing.usage_updated), the latest report per customer, metric and period. */
  reported_usage: {
    partner_id: string;
    customer_id: string;
    metric: string;
    period_start: string;
    period_end: string;
    quantity: string;
    unit: string | null;
    subscription_id: string | null;
    application_id: string | null;
    reported_at: string;
    event_id: string;
    seq: number;
  };
  /** Every published plan version (immutable). */
  plan_versions: {
    code: string;
    version: number;
    definition: unknown;
    published_at: string;
    seq: number;
  };
  /** Each partner's subscription: the folded aggregate state. */
  subscriptions: {
    partner_id: string;
    state: unknown;
    seq: number;
  };
  /** Invoices: one per partner and month (unique), numbered gap-free per issuer at finalization. */
  invoices: {
    id: string;
    partner_id: string;
    subscription_id: string;
    period_start: string;
    period_end: string;
    currency: string;
    total: string;
    lines: unknown;
    status: 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
    number: string | null;
    issuer: string | null;
    sequence: number | null;
    due_date: string | null;
    created_at: string;
    seq: number;
    amount_paid: Generated<string>;
    paid_at: string | null;
    payment_ref: string | null;
    failed_attempts: Generated<number>;
    next_retry_at: string | null;
    /** Sum of the credit notes issued against it. */
    credited: Generated<string>;
    /** The usage per meter the invoice charged (late usage is the difference found later). */
    usage: unknown;
    /** The billing time zone its period was cut in. */
    timezone: string | null;
  };
  credit_notes: {
    id: string;
    invoice_id: string;
    partner_id: string;
    number: string;
    amount: string;
    currency: string;
    reason: string;
    lines: unknown;
    issued_at: string;
    seq: number;
  };
  /** What billing knows of each partner (partner.created / partner.updated, billing.partner_settings_updated). */
  billing_contacts: {
    partner_id: string;
    name: string | null;
    email: string | null;
    timezone: string | null;
    seq: number;
  };
  /** Mails to send (not a read model: rows are kept when projections are rebuilt, so nothing is mailed twice). */
  mail_outbox: {
    id: string;
    kind: string;
    partner_id: string | null;
    ref: string | null;
    payload: unknown;
    status: Generated<'pending' | 'sent' | 'failed'>;
    attempts: Generated<number>;
    next_attempt_at: Generated<Date>;
    last_error: string | null;
    created_at: Generated<Date>;
    sent_at: Date | null;
  };
}

export type BillingDB = BillingTables & StripeTables & PlatformTables;
