import type { ApplicationListingFields, PartnerStatus, PartnerTier } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { ApplicationEvent, ApplicationState } from './application.ts';
import { securityValidation, type UrlVerdict } from './security-validation.ts';

type Fields = {
  name: string;
  description: string;
  redirect_uris: string[];
  scopes: string[];
  webhook_url: string | null;
  health_url: string | null;
  privacy_url: string | null;
  terms_url: string | null;
} & ApplicationListingFields;

export type ApplicationCommand =
  | { type: 'CreateApplication'; data: { application_id: string; partner_id: string } & Fields; partner_status: PartnerStatus }
  | { type: 'UpdateApplication'; data: { application_id: string } & Partial<Fields> }
  | {
      type: 'SubmitApplication';
      data: { application_id: string };
      partner_status: PartnerStatus;
      partner_tier: PartnerTier;
      /** SSRF verdicts of the URLs the caller checked (by URL). */
      url_verdicts: Record<string, UrlVerdict>;
      allow_http?: boolean;
      now: Date;
    }
  | { type: 'StartReview'; data: { application_id: string; reviewer: string; note: string | null } }
  | { type: 'ApproveApplication'; data: { application_id: string; reviewer: string; note: string | null } }
  | { type: 'RequestChanges'; data: { application_id: string; reviewer: string; note: string } }
  | { type: 'RejectApplication'; data: { application_id: string; reviewer: string; note: string } }
  | { type: 'PublishApplication'; data: { application_id: string }; partner_status: PartnerStatus; now: Date }
  | { type: 'DeprecateApplication'; data: { application_id: string; reason: string | null } }
  | { type: 'RetireApplication'; data: { application_id: string; reason: string | null } };

const EDITABLE = new Set(['draft', 'changes_requested']);

function existing(state: ApplicationState | undefined, id: string): ApplicationState {
  if (!state) throw new NotFoundError(`application ${id} not found`);
  return state;
}

function requireStatus(state: ApplicationState, allowed: string[], action: string): void {
  if (!allowed.includes(state.status)) {
    throw new IllegalTransitionError(`cannot ${action} an application that is ${state.status}`, {
      extensions: { current_status: state.status, allowed_from: allowed },
    });
  }
}

function activePartner(status: PartnerStatus, action: string): void {
  if (status !== 'active')
    throw new IllegalTransitionError(`cannot ${action}: the partner is ${status}`, { extensions: { partner_status: status } });
}

/** Decides an application command against the application's state: the events, or a DomainError. Pure. */
export function decideApplication(command: ApplicationCommand, state: ApplicationState | undefined): ApplicationEvent[] {
  switch (command.type) {
    case 'CreateApplication': {
      if (state) throw new ConflictError(`application ${command.data.application_id} already exists`);
      if (command.partner_status === 'terminated' || command.partner_status === 'suspended')
        activePartner(command.partner_status, 'create an application');
      return [{ type: 'application.created', data: { ...command.data, status: 'draft' } }];
    }
    case 'UpdateApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, [...EDITABLE], 'edit');
      const { application_id, ...fields } = command.data;
      const changes = Object.fromEntries(
        Object.entries(fields).filter(([k, v]) => v !== undefined && JSON.stringify(s[k as keyof ApplicationState]) !== JSON.stringify(v)),
      );
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'application.updated', data: { application_id, partner_id: s.partner_id, ...changes } }];
    }
    case 'SubmitApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, [...EDITABLE], 'submit');
      activePartner(command.partner_status, 'submit');
      const validation = securityValidation(s, command.partner_tier, (u) => command.url_verdicts[u], command.now, {
        allowHttp: command.allow_http === true,
      });
      return [{ type: 'application.submitted', data: { application_id: s.id, partner_id: s.partner_id, status: 'submitted', validation } }];
    }
    case 'StartReview': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['submitted'], 'start reviewing');
      return [{ type: 'application.review_started', data: { ...command.data, partner_id: s.partner_id, status: 'in_review' } }];
    }
    case 'ApproveApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['in_review'], 'approve');
      if (!s.validation?.passed) {
        const failed = s.validation?.checks.filter((c) => !c.passed).map((c) => c.check) ?? [];
        throw new IllegalTransitionError(`cannot approve: the security validation failed (${failed.join(', ')})`, {
          extensions: { failed_checks: failed },
        });
      }
      return [{ type: 'application.approved', data: { ...command.data, partner_id: s.partner_id, status: 'approved' } }];
    }
    case 'RequestChanges': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['in_review'], 'request changes to');
      return [{ type: 'application.changes_requested', data: { ...command.data, partner_id: s.partner_id, status: 'changes_requested' } }];
    }
    case 'RejectApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['in_review'], 'reject');
      return [{ type: 'application.rejected', data: { ...command.data, partner_id: s.partner_id, status: 'rejected' } }];
    }
    case 'PublishApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['approved'], 'publish');
      activePartner(command.partner_status, 'publish');
      return [
        {
          type: 'application.published',
          data: {
            application_id: s.id,
            partner_id: s.partner_id,
            status: 'published',
            name: s.name,
            description: s.description,
            redirect_uris: s.redirect_uris,
            scopes: s.scopes,
            webhook_url: s.webhook_url,
            health_url: s.health_url,
            privacy_url: s.privacy_url,
            terms_url: s.terms_url,
            // the listing's snapshot (application.published v2)
            tagline: s.tagline,
            long_description: s.long_description,
            logo_url: s.logo_url,
            screenshots: s.screenshots,
            categories: s.categories,
            support_email: s.support_email,
            documentation_url: s.documentation_url,
            pricing_plans: s.pricing_plans,
            published_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'DeprecateApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['published'], 'deprecate');
      return [{ type: 'application.deprecated', data: { ...command.data, partner_id: s.partner_id, status: 'deprecated' } }];
    }
    case 'RetireApplication': {
      const s = existing(state, command.data.application_id);
      requireStatus(s, ['deprecated'], 'retire');
      return [{ type: 'application.retired', data: { ...command.data, partner_id: s.partner_id, status: 'retired' } }];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
