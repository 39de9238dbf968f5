import { z } from 'zod';
import { ExternalId } from '../common/ids.ts';
import { safeDate, safeDatetime, safeText } from '../common/text.ts';

/**
 * Building blocks of the business event schemas: ids, timestamps and money in Stripe's style.
 * Business ids (`lead_id`, `policy_id`, ...) are the partner's own: 1-128 visible ASCII characters (`ExternalId`).
 */
export const id = () => ExternalId();
export const timestamp = () => safeDatetime({ offset: true });
export const date = () => safeDate();
/** ISO 4217 code, upper case (`USD`). */
export const currency = () => safeText().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code like "USD"');
/** An amount in the currency's minor unit (cents), as Stripe does: 1999 = 19.99 USD. */
export const amount = () => z.number().int().min(0).max(1_000_000_000_000);
export const note = () => safeText().max(2000);
/** A role or code name: lower-case snake_case. */
export const code = () =>
  safeText()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case snake_case');

/** Refinement for "changed fields only" events: at least one field besides the ids must be present. */
export function someFieldBesides(...ids: string[]) {
  return [
    (data: Record<string, unknown>) => Object.keys(data).some((k) => !ids.includes(k) && data[k] !== undefined),
    { message: `at least one field besides ${ids.join(', ')} is required` },
  ] as const;
}
