import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { type DataOf, defineEvent } from '../catalog/registry.ts';
import { PricingPlanSchema } from '../marketplace/listing.ts';

export const ApplicationStatusSchema = z.enum([
  'draft',
  'submitted',
  'in_review',
  'approved',
  'changes_requested',
  'rejected',
  'published',
  'deprecated',
  'retired',
]);
export type ApplicationStatus = z.output<typeof ApplicationStatusSchema>;

export const ValidationCheckSchema = z
  .object({
    check: z.enum([
      'redirect_uris_https',
      'redirect_uris_exact',
      'scopes_fit_tier',
      'webhook_url_public',
      'health_url_public',
      'privacy_url_present',
      'terms_url_present',
    ]),
    passed: z.boolean(),
    message: safeText(),
  })
  .meta({ id: 'ApplicationValidationCheck' });
export type ValidationCheck = z.output<typeof ValidationCheckSchema>;

export const SecurityValidationSchema = z
  .object({
    passed: z.boolean(),
    checks: z.array(ValidationCheckSchema),
    validated_at: safeText(),
    partner_tier: safeText(),
  })
  .meta({ id: 'ApplicationSecurityValidation' });
export type SecurityValidation = z.output<typeof SecurityValidationSchema>;

/** Editable attributes of an application (the create body, minus the owner). */
export const applicationFields = {
  name: safeText(),
  description: safeText(),
  redirect_uris: z.array(safeText()),
  scopes: z.array(safeText()),
  webhook_url: safeText().nullable(),
  health_url: safeText().nullable(),
  privacy_url: safeText().nullable(),
  terms_url: safeText().nullable(),
};

/**
 * What the marketplace listing needs of an application (v2 of application.created / updated / published):
 * tagline, long description (Markdown), logo, screenshots, categories, support email, documentation URL and
 * pricing plans (privacy and terms URLs were there from v1). The HTTP bodies validate them; the events carry them.
 */
export const applicationListingFields = {
  tagline: safeText().nullable(),
  long_description: safeText().nullable().describe('Markdown; the marketplace renders it with raw HTML disabled'),
  logo_url: safeText().nullable(),
  screenshots: z.array(safeText()),
  categories: z.array(safeText()),
  support_email: safeText().nullable(),
  documentation_url: safeText().nullable(),
  pricing_plans: z.array(PricingPlanSchema),
};
export type ApplicationListingFields = z.output<z.ZodObject<typeof applicationListingFields>>;

/** The listing fields of an application created or published before v2: none stated. */
export const noListingFields = (): ApplicationListingFields => ({
  tagline: null,
  long_description: null,
  logo_url: null,
  screenshots: [],
  categories: [],
  support_email: null,
  documentation_url: null,
  pricing_plans: [],
});

const common = { origin: 'domain', aggregate: 'application', category: 'application' } as const;
const ids = { application_id: safeText(), partner_id: safeText() };
const review = { reviewer: safeText(), note: safeText().nullable() };

const CreatedV1Data = z.object({ ...ids, ...applicationFields, status: z.literal('draft') });
const UpdatedV1Data = z.object({ ...ids, ...z.object(applicationFields).partial().shape });
const PublishedV1Data = z.object({ ...ids, status: z.literal('published'), ...applicationFields, published_at: safeText() });

/** application.created v1 (superseded): without the listing fields; read as v2 with none stated. */
export const ApplicationCreatedV1 = defineEvent({
  ...common,
  type: 'application.created',
  version: 1,
  description: 'A partner created an application; it starts as a draft (v1: without listing fields; superseded by v2).',
  data: CreatedV1Data,
  upcast: (data): ApplicationCreatedData => upcastApplicationCreatedV1(data),
});

export const ApplicationCreated = defineEvent({
  ...common,
  type: 'application.created',
  version: 2,
  description: 'A partner created an application; it starts as a draft. Carries the marketplace listing fields.',
  data: z.object({ ...ids, ...applicationFields, ...applicationListingFields, status: z.literal('draft') }),
});

/** application.updated v1 (superseded): could not change listing fields; every v1 event is valid v2 data. */
export const ApplicationUpdatedV1 = defineEvent({
  ...common,
  type: 'application.updated',
  version: 1,
  description: 'Draft attributes changed (v1: without listing fields; superseded by v2).',
  data: UpdatedV1Data,
  upcast: (data): ApplicationUpdatedData => ({ ...data }),
});

export const ApplicationUpdated = defineEvent({
  ...common,
  type: 'application.updated',
  version: 2,
  description: 'Draft attributes changed (only in draft or changes_requested); only the changed fields are present.',
  data: z.object({ ...ids, ...z.object({ ...applicationFields, ...applicationListingFields }).partial().shape }),
});

export const ApplicationSubmitted = defineEvent({
  ...common,
  type: 'application.submitted',
  version: 1,
  description: 'Submitted for review, with the automated security validation that ran on submit.',
  data: z.object({ ...ids, status: z.literal('submitted'), validation: SecurityValidationSchema }),
});

export const ApplicationReviewStarted = defineEvent({
  ...common,
  type: 'application.review_started',
  version: 1,
  description: 'A reviewer picked the application up.',
  data: z.object({ ...ids, status: z.literal('in_review'), ...review }),
});

export const ApplicationApproved = defineEvent({
  ...common,
  type: 'application.approved',
  version: 1,
  description: 'The review approved the application; the partner may publish it.',
  data: z.object({ ...ids, status: z.literal('approved'), ...review }),
});

export const ApplicationChangesRequested = defineEvent({
  ...common,
  type: 'application.changes_requested',
  version: 1,
  description: 'The review asks for changes; the partner edits and submits again.',
  data: z.object({ ...ids, status: z.literal('changes_requested'), reviewer: safeText(), note: safeText() }),
});

export const ApplicationRejected = defineEvent({
  ...common,
  type: 'application.rejected',
  version: 1,
  description: 'The review rejected the application (terminal).',
  data: z.object({ ...ids, status: z.literal('rejected'), reviewer: safeText(), note: safeText() }),
});

/** application.published v1 (superseded): a snapshot without the listing fields; read as v2 with none stated. */
export const ApplicationPublishedV1 = defineEvent({
  ...common,
  type: 'application.published',
  version: 1,
  description: 'The application is live in the marketplace (v1: snapshot without listing fields; superseded by v2).',
  data: PublishedV1Data,
  upcast: (data): ApplicationPublishedData => upcastApplicationPublishedV1(data),
});

export const ApplicationPublished = defineEvent({
  ...common,
  type: 'application.published',
  version: 2,
  description: 'The application is live in the marketplace. Carries the full listing snapshot for consumers (listing fields included).',
  data: z.object({ ...ids, status: z.literal('published'), ...applicationFields, ...applicationListingFields, published_at: safeText() }),
});

export type ApplicationCreatedData = DataOf<typeof ApplicationCreated>;
export type ApplicationUpdatedData = DataOf<typeof ApplicationUpdated>;
export type ApplicationPublishedData = DataOf<typeof ApplicationPublished>;

/** v1 → v2: the same application, with no listing fields stated (nulls and empty lists). */
export function upcastApplicationCreatedV1(data: z.output<typeof CreatedV1Data>): ApplicationCreatedData {
  return { ...noListingFields(), ...data };
}

/** v1 → v2: the same snapshot, with no listing fields stated (nulls and empty lists). */
export function upcastApplicationPublishedV1(data: z.output<typeof PublishedV1Data>): ApplicationPublishedData {
  return { ...noListingFields(), ...data };
}

export const ApplicationDeprecated = defineEvent({
  ...common,
  type: 'application.deprecated',
  version: 1,
  description: 'No new installs; existing integrations keep working.',
  data: z.object({ ...ids, status: z.literal('deprecated'), reason: safeText().nullable() }),
});

export const ApplicationRetired = defineEvent({
  ...common,
  type: 'application.retired',
  version: 1,
  description: 'Withdrawn for good (terminal).',
  data: z.object({ ...ids, status: z.literal('retired'), reason: safeText().nullable() }),
});

export const applicationEvents = [
  ApplicationCreatedV1,
  ApplicationCreated,
  ApplicationUpdatedV1,
  ApplicationUpdated,
  ApplicationSubmitted,
  ApplicationReviewStarted,
  ApplicationApproved,
  ApplicationChangesRequested,
  ApplicationRejected,
  ApplicationPublishedV1,
  ApplicationPublished,
  ApplicationDeprecated,
  ApplicationRetired,
] as const;
