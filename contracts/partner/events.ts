import { z } from 'zod';
import { safeDatetime, safeEmail, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

export const PartnerTypeSchema = z.enum(['technology', 'strategic', 'reseller']);
export const PartnerTierSchema = z.enum(['standard', 'premium', 'enterprise']);
export const PartnerStatusSchema = z.enum(['pending', 'active', 'suspended', 'terminated']);
export type PartnerType = z.output<typeof PartnerTypeSchema>;
export type PartnerTier = z.output<typeof PartnerTierSchema>;
export type PartnerStatus = z.output<typeof PartnerStatusSchema>;

/**
 * What each tier carries. The gateway's rate limiter reads a partner's tier from the partner events
 * (`partner.created` / `partner.updated`) and applies these defaults.
 */
export const PARTNER_TIERS: Record<
  PartnerTier,
  { rate_limit_per_minute: number; support_sla_hours: Record<'low' | 'normal' | 'high' | 'urgent', number> }
> = {
  standard: { rate_limit_per_minute: 1_000, support_sla_hours: { low: 120, normal: 72, high: 24, urgent: 8 } },
  premium: { rate_limit_per_minute: 10_000, support_sla_hours: { low: 72, normal: 24, high: 8, urgent: 4 } },
  enterprise: { rate_limit_per_minute: 50_000, support_sla_hours: { low: 24, normal: 8, high: 4, urgent: 1 } },
};

const common = { origin: 'domain', aggregate: 'partner', category: 'partner' } as const;

export const PartnerCreated = defineEvent({
  ...common,
  type: 'partner.created',
  version: 1,
  description: 'A partner registered; it starts pending.',
  data: z.object({
    partner_id: safeText(),
    name: safeText(),
    type: PartnerTypeSchema,
    contact_email: safeEmail(),
    tier: PartnerTierSchema,
  }),
});

export const PartnerUpdated = defineEvent({
  ...common,
  type: 'partner.updated',
  version: 1,
  description: 'Editable partner attributes changed; only the changed fields are present.',
  data: z.object({
    partner_id: safeText(),
    name: safeText().optional(),
    type: PartnerTypeSchema.optional(),
    contact_email: safeEmail().optional(),
    tier: PartnerTierSchema.optional(),
  }),
});

export const PartnerActivated = defineEvent({
  ...common,
  type: 'partner.activated',
  version: 1,
  description: 'The partner may use the platform (after review, or after a suspension).',
  data: z.object({ partner_id: safeText(), reason: safeText().optional() }),
});

export const PartnerChangesRequested = defineEvent({
  ...common,
  type: 'partner.changes_requested',
  version: 1,
  description: 'A platform admin reviewed the pending partner and asked for changes (the note says which); it stays pending.',
  data: z.object({ partner_id: safeText(), reason: safeText() }),
});

export const PartnerSuspended = defineEvent({
  ...common,
  type: 'partner.suspended',
  version: 1,
  description: "The partner's credentials stop working until it is activated again.",
  data: z.object({ partner_id: safeText(), reason: safeText() }),
});

export const PartnerTerminated = defineEvent({
  ...common,
  type: 'partner.terminated',
  version: 1,
  description: 'The partnership ended; terminal.',
  data: z.object({ partner_id: safeText(), reason: safeText() }),
});

export const partnerEvents = [
  PartnerCreated,
  PartnerUpdated,
  PartnerActivated,
  PartnerChangesRequested,
  PartnerSuspended,
  PartnerTerminated,
] as const;

export const ContactRoleSchema = z.enum(['primary', 'technical', 'billing', 'legal', 'security', 'support']);
export type ContactRole = z.output<typeof ContactRoleSchema>;

export const PartnerContactAdded = defineEvent({
  ...common,
  type: 'partner.contact_added',
  version: 1,
  description: 'A person at the partner was added as a contact with a role (emails go to contacts by role).',
  data: z.object({
    partner_id: safeText(),
    contact_id: safeText(),
    name: safeText(),
    email: safeEmail(),
    role: ContactRoleSchema,
    phone: safeText().optional(),
  }),
});

export const PartnerContactRemoved = defineEvent({
  ...common,
  type: 'partner.contact_removed',
  version: 1,
  description: 'A contact was removed from the partner.',
  data: z.object({ partner_id: safeText(), contact_id: safeText() }),
});

export const RevenueShareSchema = z
  .object({
    first_year_pct: z.number().min(0).max(100).describe('Share of revenue in the first contract year, e.g. 20'),
    renewal_pct: z.number().min(0).max(100).describe('Share of revenue on renewals, e.g. 10'),
  })
  .meta({ id: 'RevenueShare' });

export const PartnerAgreementSigned = defineEvent({
  ...common,
  type: 'partner.agreement_signed',
  version: 1,
  description: 'A new version of the partner agreement was signed; it supersedes the previous version from its effective date.',
  data: z.object({
    partner_id: safeText(),
    agreement_id: safeText(),
    version: z.number().int().min(1),
    supersedes: safeText().nullable(),
    title: safeText(),
    signed_at: safeDatetime({ offset: true }),
    signed_by: safeText(),
    effective_at: safeDatetime({ offset: true }),
    expires_at: safeDatetime({ offset: true }).nullable(),
    revenue_share: RevenueShareSchema,
    terms_url: safeText().optional(),
  }),
});

export const partnerRelationEvents = [PartnerContactAdded, PartnerContactRemoved, PartnerAgreementSigned] as const;
