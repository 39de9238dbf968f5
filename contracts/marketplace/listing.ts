import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';
import { safeDatetime, safeEmail, safeText, safeUrl } from '../common/text.ts';

/**
 * A listing's marketplace content, as its partner edits it: saved as a draft, live once published. Until
 * application.published carries these fields (issue 13, item 2), the listing's own draft is where they come from.
 */
export const CategorySlugSchema = safeText()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single "-" (e.g. "developer-tools")')
  .max(64)
  .describe('A category of the admin-managed list (GET /v1/marketplace/categories)');

export const PricingPlanSchema = z
  .object({
    name: safeText().trim().min(1).max(80),
    model: z.enum(['free', 'flat', 'usage_based']),
    amount: z
      .number()
      .int()
      .min(0)
      .max(100_000_000)
      .describe('Minor units (cents) per interval, or per unit when usage-based; 0 when free'),
    currency: safeText()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as "USD"')
      .default('USD'),
    interval: z.enum(['month', 'year']).nullable().default(null).describe('Billing interval of a flat plan'),
    unit: safeText().trim().min(1).max(40).nullable().default(null).describe('What a usage-based plan counts, e.g. "1,000 events"'),
    trial_days: z.number().int().min(0).max(90).default(0).describe('Free trial days before the plan charges'),
  })
  .strict()
  .meta({ id: 'PricingPlan' });
export type PricingPlan = z.output<typeof PricingPlanSchema>;

const url = () => safeUrl({ protocol: /^https?$/ }).max(2048);

export const ListingContentSchema = z
  .object({
    tagline: safeText().trim().min(1).max(120).nullable().default(null),
    description: safeText().trim().min(1).max(20_000).nullable().default(null).describe('Long description (Markdown)'),
    logo_url: url().nullable().default(null),
    screenshots: z.array(url()).max(5).default([]).describe('3 to 5 screenshots to publish'),
    categories: z.array(CategorySlugSchema).max(3).default([]),
    support_email: safeEmail().max(254).nullable().default(null),
    documentation_url: url().nullable().default(null),
    privacy_url: url().nullable().default(null),
    terms_url: url().nullable().default(null),
    pricing_plans: z.array(PricingPlanSchema).max(5).default([]),
  })
  .strict()
  .meta({ id: 'ListingContent' });
export type ListingContent = z.output<typeof ListingContentSchema>;

const listingCommon = { origin: 'domain', aggregate: 'listing', category: 'marketplace' } as const;
const listingRef = {
  listing_id: safeText(),
  application_id: safeText(),
  partner_id: safeText().describe("The listing's partner"),
};

export const ListingDraftSaved = defineEvent({
  ...listingCommon,
  type: 'listing.draft_saved',
  version: 1,
  description: "The listing's partner (or an admin) saved marketplace content as a draft; the live listing is unchanged.",
  data: z.object({ ...listingRef, draft: ListingContentSchema, saved_by: safeText(), saved_at: safeText() }),
});

export const ListingPublished = defineEvent({
  ...listingCommon,
  type: 'listing.published',
  version: 1,
  description: "A listing's draft passed the pre-submission checklist and went live for the first time.",
  data: z.object({ ...listingRef, content: ListingContentSchema, published_by: safeText(), published_at: safeText() }),
});

export const ListingUpdated = defineEvent({
  ...listingCommon,
  type: 'listing.updated',
  version: 1,
  description: "A live listing's content was replaced by a newer draft that passed the checklist.",
  data: z.object({ ...listingRef, content: ListingContentSchema, published_by: safeText(), published_at: safeText() }),
});

export const ListingFeatured = defineEvent({
  ...listingCommon,
  type: 'listing.featured',
  version: 1,
  description: 'An admin featured the listing for a window (featuring again replaces the window).',
  data: z.object({ ...listingRef, from: safeText(), until: safeText(), featured_by: safeText() }),
});

export const ListingUnfeatured = defineEvent({
  ...listingCommon,
  type: 'listing.unfeatured',
  version: 1,
  description: 'An admin ended the listing’s featured window early.',
  data: z.object({ ...listingRef, unfeatured_by: safeText(), unfeatured_at: safeText() }),
});

export const ListingUnlisted = defineEvent({
  ...listingCommon,
  type: 'listing.unlisted',
  version: 1,
  description:
    "The listing's partner (or an admin) took the listing off the marketplace: not shown or installable until relisted; installs stay.",
  data: z.object({ ...listingRef, unlisted_by: safeText(), unlisted_at: safeText() }),
});

export const ListingRelisted = defineEvent({
  ...listingCommon,
  type: 'listing.relisted',
  version: 1,
  description: 'The listing is shown in the marketplace again.',
  data: z.object({ ...listingRef, relisted_by: safeText(), relisted_at: safeText() }),
});

const categoryCommon = { origin: 'domain', aggregate: 'marketplace_category', category: 'marketplace' } as const;

export const CategoryDefined = defineEvent({
  ...categoryCommon,
  type: 'marketplace.category_defined',
  version: 1,
  description: 'An admin added a marketplace category or renamed / moved it.',
  data: z.object({
    slug: CategorySlugSchema,
    name: safeText(),
    parent: CategorySlugSchema.nullable(),
    defined_by: safeText(),
    defined_at: safeText(),
  }),
});

export const CategoryRemoved = defineEvent({
  ...categoryCommon,
  type: 'marketplace.category_removed',
  version: 1,
  description: 'An admin removed a category; listings keep naming it until their next publish, and search no longer offers it.',
  data: z.object({ slug: CategorySlugSchema, removed_by: safeText(), removed_at: safeText() }),
});

export const FeatureListingBody = z
  .object({ from: safeDatetime({ offset: true }), until: safeDatetime({ offset: true }) })
  .strict()
  .refine((b) => Date.parse(b.until) > Date.parse(b.from), { message: 'until must be after from', path: ['until'] })
  .meta({ id: 'FeatureListing' });

export const DefineCategoryBody = z
  .object({ name: safeText().trim().min(1).max(80), parent: CategorySlugSchema.nullable().default(null) })
  .strict()
  .meta({ id: 'DefineCategory' });

export const listingEvents = [
  ListingDraftSaved,
  ListingPublished,
  ListingUpdated,
  ListingFeatured,
  ListingUnfeatured,
  ListingUnlisted,
  ListingRelisted,
] as const;
export const categoryEvents = [CategoryDefined, CategoryRemoved] as const;
