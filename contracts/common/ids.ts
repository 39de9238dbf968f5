import { z } from 'zod';
import { safeText } from './text.ts';

/**
 * Ids at the edge.
 *
 * Platform-minted ids are `<prefix>_<ULID>` with the ULID lower-cased: 26 characters of Crockford base32
 * (`0-9 a-h j k m n p-t v-z`: no i, l, o, u), e.g. `prt_01jd8x6q3c9v2f5n7w0y4z1mbk` (`newId` in `@pep/runtime`).
 * Every route field that names one is validated against its prefix, so a malformed id never reaches a service:
 * in the path it is answered 404 (like a well-formed unknown id), in the query or the body 422 naming the field.
 *
 * Ids chosen by partners and monitors (CloudEvents `id`, business ids such as `lead_id`, customer ids) follow
 * `EXTERNAL_ID_PATTERN`: 1 to 128 visible ASCII characters (U+0021–U+007E; no space, no control character).
 * A few fields keep a stricter documented alphabet of their own (PathCanary's `incident_id` and `customer_id`:
 * `[A-Za-z0-9_-]{1,64}`, GitHub owner and repository names).
 */
export const ID_PREFIXES = {
  agr: 'partner agreement',
  app: 'application',
  cli: 'OAuth client',
  cmt: 'support ticket comment',
  ctc: 'partner contact',
  evt: 'event',
  ins: 'marketplace install',
  int: 'integration',
  key: 'API key',
  lst: 'marketplace listing',
  msg: 'webhook delivery (message)',
  prt: 'partner',
  ses: 'portal session',
  tkt: 'support ticket',
  usr: 'partner user',
  wep: 'webhook endpoint',
  whjob: 'webhook replay/recover job',
} as const;
export type IdPrefix = keyof typeof ID_PREFIXES;

/** The lower-cased ULID part of a platform id. */
export const ULID_LOWER = '[0-9a-hjkmnp-tv-z]{26}';

export function platformIdPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}_${ULID_LOWER}$`);
}

/** A platform-minted id of one kind: `PlatformId('prt')` is a partner id. */
export function PlatformId(prefix: IdPrefix) {
  return safeText().regex(platformIdPattern(prefix), `must be a ${ID_PREFIXES[prefix]} id: "${prefix}_" and 26 base32 characters`);
}

/** Any platform-minted id (the cursor of lists that page by id). */
export const ANY_PLATFORM_ID_PATTERN = new RegExp(`^[a-z]{2,8}_${ULID_LOWER}$`);

/**
 * A rollback policy id: derived from (partner, customer) so that a second create conflicts, not minted:
 * `rbp_` and 24 lower-case hex characters.
 */
export const ROLLBACK_POLICY_ID_PATTERN = /^rbp_[0-9a-f]{24}$/;
export function RollbackPolicyId() {
  return safeText().regex(ROLLBACK_POLICY_ID_PATTERN, 'must be a rollback policy id: "rbp_" and 24 hex characters');
}

/**
 * An invoice id: derived from (partner, month) so that a second invoice run finds the first, not minted:
 * `inv_`, the partner id and the month as `YYYYMM` (`inv_prt_01jd…_202612`).
 */
export const INVOICE_ID_PATTERN = new RegExp(`^inv_prt_${ULID_LOWER}_[0-9]{6}$`);
export function InvoiceId() {
  return safeText().regex(INVOICE_ID_PATTERN, 'must be an invoice id: "inv_", the partner id and the month as YYYYMM');
}

/**
 * A marketplace review id: derived from (listing, customer), one review each: `rev_` and 32 base64url characters.
 */
export const REVIEW_ID_PATTERN = /^rev_[A-Za-z0-9_-]{32}$/;
export function ReviewId() {
  return safeText().regex(REVIEW_ID_PATTERN, 'must be a review id: "rev_" and 32 base64url characters');
}

/** Ids chosen outside the platform: 1–128 visible ASCII characters. */
export const EXTERNAL_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
export function ExternalId() {
  return safeText().regex(EXTERNAL_ID_PATTERN, 'must be 1 to 128 visible ASCII characters (no spaces or control characters)');
}

/** A list cursor (`starting_after`): the id (or name) of the last item of the previous page. */
export function Cursor() {
  return safeText().regex(EXTERNAL_ID_PATTERN, 'must be the id of an item of the previous page');
}

/** Path params `{ id }` of a route whose `:id` is a platform id of one kind. */
export function idParams(prefix: IdPrefix) {
  return z.object({ id: PlatformId(prefix) });
}
