import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

/**
 * A customer of the platform, as the platform's own product names it when it installs a listing for them.
 * Letters, digits, "_" and "-" so it can appear in a path and in a subject-safe install key.
 */
export const MarketplaceCustomerIdSchema = safeText()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only (1-64)')
  .describe('The platform customer the listing is installed for');

const common = { origin: 'domain', aggregate: 'install', category: 'marketplace' } as const;

/** Who and what an install is about; the same on every install event so a consumer needs no lookup. */
const installRef = {
  install_id: safeText().describe('One install: a new id each time a customer installs again after an uninstall'),
  listing_id: safeText(),
  application_id: safeText(),
  partner_id: safeText().describe("The listing's partner, to whom the customer is attributed for revenue share"),
  customer_id: safeText(),
};

export const InstallCreated = defineEvent({
  ...common,
  type: 'install.created',
  version: 1,
  description:
    'The platform installed a listing for one of its customers. One active install per (customer, listing); installing again while active changes nothing.',
  data: z.object({ ...installRef, installed_at: safeText(), installed_by: safeText().describe('Credential id of the caller') }),
});

export const InstallRemoved = defineEvent({
  ...common,
  type: 'install.removed',
  version: 1,
  description: "The platform uninstalled a customer's active install of a listing.",
  data: z.object({
    ...installRef,
    installed_at: safeText(),
    removed_at: safeText(),
    removed_by: safeText().describe('Credential id of the caller'),
    reason: z.enum(['uninstalled']),
  }),
});

const reviewCommon = { origin: 'domain', aggregate: 'review', category: 'marketplace' } as const;
const reviewRef = {
  review_id: safeText().describe('One review per (listing, customer)'),
  listing_id: safeText(),
  partner_id: safeText().describe("The listing's partner, who may answer the review"),
  customer_id: safeText(),
};
export const RatingSchema = z.number().int().min(1).max(5);

export const ReviewSubmitted = defineEvent({
  ...reviewCommon,
  type: 'review.submitted',
  version: 1,
  description: 'A customer who installed the listing (now or before) reviewed it; one review per customer and listing.',
  data: z.object({ ...reviewRef, rating: RatingSchema, body: safeText(), submitted_at: safeText() }),
});

export const ReviewEdited = defineEvent({
  ...reviewCommon,
  type: 'review.edited',
  version: 1,
  description: 'The customer edited the review; the events before it are its history.',
  data: z.object({ ...reviewRef, rating: RatingSchema, body: safeText(), previous_rating: RatingSchema, edited_at: safeText() }),
});

export const ReviewResponded = defineEvent({
  ...reviewCommon,
  type: 'review.responded',
  version: 1,
  description: "The listing's partner answered the review (once; later changes are review.response_edited).",
  data: z.object({ ...reviewRef, body: safeText(), responded_at: safeText(), responded_by: safeText() }),
});

export const ReviewResponseEdited = defineEvent({
  ...reviewCommon,
  type: 'review.response_edited',
  version: 1,
  description: 'The partner edited its answer to the review.',
  data: z.object({ ...reviewRef, body: safeText(), edited_at: safeText(), edited_by: safeText() }),
});

export const ReviewReportReasonSchema = z.enum(['spam', 'offensive', 'off_topic', 'conflict_of_interest', 'other']);

export const ReviewReported = defineEvent({
  ...reviewCommon,
  type: 'review.reported',
  version: 1,
  description: "The listing's partner or an admin reported the review for moderation; it stays visible until an admin hides it.",
  data: z.object({
    ...reviewRef,
    reason: ReviewReportReasonSchema,
    note: safeText().nullable(),
    reported_by: safeText().describe('Credential id of the caller'),
    reported_at: safeText(),
  }),
});

export const ReviewHidden = defineEvent({
  ...reviewCommon,
  type: 'review.hidden',
  version: 1,
  description: 'An admin hid the review: kept (not deleted) but no longer shown or counted in the ratings.',
  data: z.object({ ...reviewRef, rating: RatingSchema, reason: safeText(), hidden_by: safeText(), hidden_at: safeText() }),
});

export const ReviewUnhidden = defineEvent({
  ...reviewCommon,
  type: 'review.unhidden',
  version: 1,
  description: 'An admin showed a hidden review again; it counts in the ratings again.',
  data: z.object({ ...reviewRef, rating: RatingSchema, unhidden_by: safeText(), unhidden_at: safeText() }),
});

export const marketplaceEvents = [
  InstallCreated,
  InstallRemoved,
  ReviewSubmitted,
  ReviewEdited,
  ReviewResponded,
  ReviewResponseEdited,
  ReviewReported,
  ReviewHidden,
  ReviewUnhidden,
] as const;
