import { z } from 'zod';
import { safeEmail, safeText, safeUrl } from '../common/text.ts';
import { idParams, PlatformId } from '../common/ids.ts';
import { ScopeSchema } from '../identity/scopes.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes, type RouteContract } from '../http/routes.ts';
import { CategorySlugSchema, PricingPlanSchema } from '../marketplace/listing.ts';
import { ApplicationStatusSchema, SecurityValidationSchema, applicationListingFields } from './events.ts';

export const ReviewNoteSchema = z
  .object({ action: safeText(), reviewer: safeText(), note: safeText().nullable(), at: safeText() })
  .meta({ id: 'ApplicationReviewNote' });

export const ApplicationSchema = z
  .object({
    id: safeText(),
    object: z.literal('application'),
    partner_id: safeText(),
    name: safeText(),
    description: safeText(),
    redirect_uris: z.array(safeText()),
    scopes: z.array(safeText()),
    webhook_url: safeText().nullable(),
    health_url: safeText().nullable(),
    privacy_url: safeText().nullable(),
    terms_url: safeText().nullable(),
    ...applicationListingFields,
    status: ApplicationStatusSchema,
    validation: SecurityValidationSchema.nullable().describe('Results of the automated security validation of the last submit'),
    review_notes: z.array(ReviewNoteSchema),
    published_at: safeText().nullable(),
    version: z.number().int(),
    created_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'Application' });
export type Application = z.output<typeof ApplicationSchema>;

const url = () => safeText().trim().max(2000);
const editable = {
  name: safeText().trim().min(1).max(200),
  description: safeText().trim().min(1).max(5000),
  redirect_uris: z.array(url()).max(20),
  scopes: z.array(ScopeSchema).max(50),
  webhook_url: url(),
  health_url: url(),
  privacy_url: url(),
  terms_url: url(),
};

const httpsUrl = () => safeUrl({ protocol: /^https?$/ }).max(2048);
/** The marketplace listing fields as a partner states them (each optional; see docs/marketplace.md). */
const listingEditable = {
  tagline: safeText().trim().min(1).max(120),
  long_description: safeText().trim().min(1).max(20_000).describe('Markdown (raw HTML is not rendered)'),
  logo_url: httpsUrl(),
  screenshots: z
    .array(httpsUrl())
    .max(5)
    .refine((s) => s.length === 0 || s.length >= 3, { message: 'state 3 to 5 screenshots (or none yet)' }),
  categories: z.array(CategorySlugSchema).max(3),
  support_email: safeEmail().max(254),
  documentation_url: httpsUrl(),
  pricing_plans: z.array(PricingPlanSchema).max(5),
};
const optionalListing = {
  tagline: listingEditable.tagline.optional(),
  long_description: listingEditable.long_description.optional(),
  logo_url: listingEditable.logo_url.optional(),
  screenshots: listingEditable.screenshots.optional(),
  categories: listingEditable.categories.optional(),
  support_email: listingEditable.support_email.optional(),
  documentation_url: listingEditable.documentation_url.optional(),
  pricing_plans: listingEditable.pricing_plans.optional(),
};

/** URLs are checked on submit (the security validation), not at creation, so a draft can be saved incomplete. */
export const CreateApplicationBody = z
  .object({
    ...editable,
    redirect_uris: editable.redirect_uris.optional(),
    scopes: editable.scopes.optional(),
    webhook_url: editable.webhook_url.optional(),
    health_url: editable.health_url.optional(),
    privacy_url: editable.privacy_url.optional(),
    terms_url: editable.terms_url.optional(),
    ...optionalListing,
    partner_id: PlatformId('prt').optional().describe('Owner; required for admin credentials'),
  })
  .strict()
  .meta({ id: 'CreateApplication' });

export const UpdateApplicationBody = z
  .object({
    name: editable.name.optional(),
    description: editable.description.optional(),
    redirect_uris: editable.redirect_uris.optional(),
    scopes: editable.scopes.optional(),
    webhook_url: editable.webhook_url.nullable().optional(),
    health_url: editable.health_url.nullable().optional(),
    privacy_url: editable.privacy_url.nullable().optional(),
    terms_url: editable.terms_url.nullable().optional(),
    ...optionalListing,
    tagline: listingEditable.tagline.nullable().optional(),
    long_description: listingEditable.long_description.nullable().optional(),
    logo_url: listingEditable.logo_url.nullable().optional(),
    support_email: listingEditable.support_email.nullable().optional(),
    documentation_url: listingEditable.documentation_url.nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' })
  .meta({ id: 'UpdateApplication' });

export const ReviewBody = z
  .object({ note: safeText().trim().min(1).max(5000).optional() })
  .strict()
  .meta({ id: 'ApplicationReview' });
export const ReviewDecisionBody = z
  .object({ note: safeText().trim().min(1).max(5000) })
  .strict()
  .meta({ id: 'ApplicationReviewDecision' });
export const LifecycleBody = z
  .object({ reason: safeText().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'ApplicationLifecycle' });

const base = { tag: 'Applications', service: 'partner-registry' } as const;

const transition = (
  operationId: string,
  action: string,
  summary: string,
  body: z.ZodType,
  opts: { adminOnly?: boolean } = {},
): RouteContract => ({
  ...base,
  operationId,
  method: 'POST',
  path: `/v1/applications/:id/${action}`,
  summary,
  pattern: `applications.${action}`,
  scope: opts.adminOnly ? 'admin' : 'write:applications',
  ...(opts.adminOnly ? { adminOnly: true } : {}),
  params: idParams('app'),
  body: body.optional(),
  success: { status: 200, schema: ApplicationSchema },
  errors: [409],
});

export const applicationRoutes = defineRoutes([
  {
    ...base,
    operationId: 'createApplication',
    method: 'POST',
    path: '/v1/applications',
    summary: 'Create an application (draft)',
    pattern: 'applications.create',
    scope: 'write:applications',
    body: CreateApplicationBody,
    success: { status: 201, schema: ApplicationSchema },
  },
  {
    ...base,
    operationId: 'listApplications',
    method: 'GET',
    path: '/v1/applications',
    summary: 'List applications (a partner credential sees only its own)',
    pattern: 'applications.list',
    scope: 'read:applications',
    query: PageQuerySchema.extend({ status: ApplicationStatusSchema.optional(), partner_id: PlatformId('prt').optional() }),
    success: { status: 200, schema: pageOf(ApplicationSchema) },
  },
  {
    ...base,
    operationId: 'getApplication',
    method: 'GET',
    path: '/v1/applications/:id',
    summary: 'Get an application, with its validation results and review notes',
    pattern: 'applications.get',
    scope: 'read:applications',
    params: idParams('app'),
    success: { status: 200, schema: ApplicationSchema },
  },
  {
    ...base,
    operationId: 'updateApplication',
    method: 'PATCH',
    path: '/v1/applications/:id',
    summary: 'Edit a draft (or an application with changes requested)',
    pattern: 'applications.update',
    scope: 'write:applications',
    params: idParams('app'),
    body: UpdateApplicationBody,
    success: { status: 200, schema: ApplicationSchema },
    errors: [409],
  },
  transition('submitApplication', 'submit', 'Submit for review; runs the automated security validation', LifecycleBody),
  transition('startApplicationReview', 'start-review', 'Start reviewing a submitted application', ReviewBody, { adminOnly: true }),
  transition('approveApplication', 'approve', 'Approve (the security validation must have passed)', ReviewBody, { adminOnly: true }),
  transition('requestApplicationChanges', 'request-changes', 'Ask the partner for changes', ReviewDecisionBody, { adminOnly: true }),
  transition('rejectApplication', 'reject', 'Reject the application (terminal)', ReviewDecisionBody, { adminOnly: true }),
  transition('publishApplication', 'publish', 'Publish an approved application to the marketplace', LifecycleBody),
  transition('deprecateApplication', 'deprecate', 'Deprecate a published application (no new installs)', LifecycleBody),
  transition('retireApplication', 'retire', 'Retire a deprecated application (terminal)', LifecycleBody),
]);
