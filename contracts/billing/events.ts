import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';
import { MeterSchema } from './meters.ts';

/** Domain events of the billing service (it owns meters, plans, subscriptions) and the usage rollups it meters. */
export const BillingMeterCreated = defineEvent({
  origin: 'domain',
  aggregate: 'billing_meter',
  category: 'billing',
  type: 'billing.meter_created',
  version: 1,
  description: 'A custom meter was defined; it meters the events that follow it in the stream.',
  data: MeterSchema,
});

/**
 * The gateway's usage rollup: the requests one gateway replica answered for one partner in one minute. Its id is
 * deterministic (`apiu_<partner>_<minute>_<reporter>`), so a re-sent rollup is dropped by the stream's dedupe and
 * never counted twice; two replicas report two rollups (each its own requests).
 */
export const ApiUsageRolledUp = defineEvent({
  origin: 'domain',
  aggregate: 'api_usage',
  category: 'billing',
  type: 'api_usage.rolled_up',
  version: 1,
  description: 'Requests a gateway replica answered for one partner in one minute (appended once per partner, minute and replica).',
  data: z
    .object({
      partner_id: z.string().min(1).max(64),
      minute: z.iso.datetime({ offset: true }).describe('Start of the minute (seconds are zero)'),
      reporter: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/)
        .describe('The gateway replica that counted them'),
      requests: z.number().int().min(1).max(100_000_000),
      by_status: z.record(z.string().regex(/^[1-5]xx$/), z.number().int().min(0)).optional(),
    })
    .strict(),
});

export const billingDomainEvents = [BillingMeterCreated, ApiUsageRolledUp] as const;
