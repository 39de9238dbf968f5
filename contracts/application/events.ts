import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

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

const common = { origin: 'domain', aggregate: 'application', category: 'application' } as const;
const ids = { application_id: safeText(), partner_id: safeText() };
const review = { reviewer: safeText(), note: safeText().nullable() };

export const ApplicationCreated = defineEvent({
  ...common,
  type: 'application.created',
  version: 1,
  description: 'A partner created an application; it starts as a draft.',
  data: z.object({ ...ids, ...applicationFields, status: z.literal('draft') }),
});

export const ApplicationUpdated = defineEvent({
  ...common,
  type: 'application.updated',
  version: 1,
  description: 'Draft attributes changed (only in draft or changes_requested); only the changed fields are present.',
  data: z.object({ ...ids, ...z.object(applicationFields).partial().shape }),
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

export const ApplicationPublished = defineEvent({
  ...common,
  type: 'application.published',
  version: 1,
  description: 'The application is live in the marketplace. Carries the full listing snapshot for consumers.',
  data: z.object({ ...ids, status: z.literal('published'), ...applicationFields, published_at: safeText() }),
});

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
  ApplicationCreated,
  ApplicationUpdated,
  ApplicationSubmitted,
  ApplicationReviewStarted,
  ApplicationApproved,
  ApplicationChangesRequested,
  ApplicationRejected,
  ApplicationPublished,
  ApplicationDeprecated,
  ApplicationRetired,
] as const;
