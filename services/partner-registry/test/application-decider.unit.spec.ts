import type { PlatformEvent } from '@pep/contracts';
import { IllegalTransitionError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { type ApplicationEvent, type ApplicationState, evolveApplication } from '../src/domain/application/application.ts';
import { type ApplicationCommand, decideApplication } from '../src/domain/application/decide.ts';
import { securityValidation } from '../src/domain/application/security-validation.ts';

const now = new Date('2026-03-01T00:00:00Z');
let seq = 0;
/** given: these past events (all at `now`, numbered in order) → the state the decider sees. */
const applications = deciderSpec<ApplicationState | undefined, ApplicationCommand, ApplicationEvent>({
  decide: decideApplication,
  evolve: (s, e) =>
    evolveApplication(s, {
      specversion: '1.0',
      id: `e${++seq}`,
      source: 't',
      type: e.type,
      time: now.toISOString(),
      datacontenttype: 'application/json',
      schemaversion: 1,
      data: e.data,
      seq,
    } as PlatformEvent & { seq: number }),
  initialState: () => undefined,
});

const good = {
  name: 'CRM sync',
  description: 'Syncs leads',
  redirect_uris: ['https://app.acme.test/callback'],
  scopes: ['read:leads', 'write:leads'],
  webhook_url: 'https://8.8.8.8/hooks',
  health_url: 'https://8.8.8.8/health',
  privacy_url: 'https://acme.test/privacy',
  terms_url: 'https://acme.test/terms',
  tagline: 'Leads both ways',
  long_description: '# CRM sync\n\nKeeps **leads** in step with your CRM.',
  logo_url: 'https://cdn.acme.test/logo.png',
  screenshots: ['https://cdn.acme.test/1.png', 'https://cdn.acme.test/2.png', 'https://cdn.acme.test/3.png'],
  categories: ['leads'],
  support_email: 'help@acme.test',
  documentation_url: 'https://docs.acme.test',
  pricing_plans: [
    { name: 'Team', model: 'flat' as const, amount: 1900, currency: 'EUR', interval: 'month' as const, unit: null, trial_days: 14 },
  ],
};
const created: ApplicationEvent = {
  type: 'application.created',
  data: { application_id: 'app_1', partner_id: 'prt_1', status: 'draft', ...good },
};
const submit = (
  verdicts: Record<string, { ok: true } | { ok: false; reason: string }> = {},
): Extract<ApplicationCommand, { type: 'SubmitApplication' }> => ({
  type: 'SubmitApplication',
  data: { application_id: 'app_1' },
  partner_status: 'active',
  partner_tier: 'standard',
  url_verdicts: { [good.webhook_url]: { ok: true }, [good.health_url]: { ok: true }, ...verdicts },
  now,
});

describe('application security validation', () => {
  it('passes a well-formed application', () => {
    const v = securityValidation(good, 'standard', () => ({ ok: true }), now);
    expect(v.passed).toBe(true);
    expect(v.checks).toHaveLength(7);
  });

  it('names every failing rule', () => {
    const v = securityValidation(
      {
        redirect_uris: ['http://app.acme.test/cb', 'https://*.acme.test/cb', 'https://a.test/cb#frag'],
        scopes: ['read:leads', 'manage:*', 'admin'],
        webhook_url: 'https://10.0.0.5/hook',
        health_url: 'http://8.8.8.8/health',
        privacy_url: null,
        terms_url: '',
      },
      'standard',
      (u) => (u.includes('10.0.0.5') ? { ok: false, reason: 'private address' } : { ok: true }),
      now,
    );
    const failed = Object.fromEntries(v.checks.filter((c) => !c.passed).map((c) => [c.check, c.message]));
    expect(v.passed).toBe(false);
    expect(Object.keys(failed).sort()).toEqual(
      [
        'health_url_public',
        'privacy_url_present',
        'redirect_uris_exact',
        'redirect_uris_https',
        'scopes_fit_tier',
        'terms_url_present',
        'webhook_url_public',
      ].sort(),
    );
    expect(failed.scopes_fit_tier).toContain('manage:*');
    expect(failed.scopes_fit_tier).toContain('admin');
    expect(failed.webhook_url_public).toContain('private address');
    expect(securityValidation({ ...good, scopes: ['manage:*'] }, 'premium', () => ({ ok: true }), now).passed).toBe(true);
  });
});

describe('application decider', () => {
  it('walks draft → submitted → in_review → approved → published → deprecated → retired, keeping reviewer notes', () => {
    let history: ApplicationEvent[] = [created];
    for (const cmd of [
      submit(),
      { type: 'StartReview', data: { application_id: 'app_1', reviewer: 'rev', note: 'looking' } },
      { type: 'ApproveApplication', data: { application_id: 'app_1', reviewer: 'rev', note: 'lgtm' } },
      { type: 'PublishApplication', data: { application_id: 'app_1' }, partner_status: 'active', now },
      { type: 'DeprecateApplication', data: { application_id: 'app_1', reason: 'v2 out' } },
      { type: 'RetireApplication', data: { application_id: 'app_1', reason: null } },
    ] satisfies ApplicationCommand[]) {
      history = [...history, ...applications.given(history).when(cmd).events()];
    }
    const s = applications.given(history).state;
    expect(s?.status).toBe('retired');
    expect(s?.published_at).toBe(now.toISOString());
    expect(s?.review_notes.map((n) => [n.action, n.note])).toEqual([
      ['review_started', 'looking'],
      ['approved', 'lgtm'],
    ]);
  });

  it('publishing emits the full listing snapshot the marketplace consumes', () => {
    let history = [created, ...applications.given([created]).when(submit()).events()];
    history = [
      ...history,
      ...applications
        .given(history)
        .when({ type: 'StartReview', data: { application_id: 'app_1', reviewer: 'r', note: null } })
        .events(),
    ];
    history = [
      ...history,
      ...applications
        .given(history)
        .when({ type: 'ApproveApplication', data: { application_id: 'app_1', reviewer: 'r', note: null } })
        .events(),
    ];
    const [published] = applications
      .given(history)
      .when({ type: 'PublishApplication', data: { application_id: 'app_1' }, partner_status: 'active', now })
      .events();
    expect(published).toMatchObject({ type: 'application.published', data: { ...good, partner_id: 'prt_1', status: 'published' } });
  });

  it('a draft edit of the listing fields is what the published snapshot carries', () => {
    const edit: ApplicationCommand = {
      type: 'UpdateApplication',
      data: { application_id: 'app_1', tagline: 'Sync leads in seconds', categories: ['leads', 'developer-tools'], logo_url: null },
    };
    const [updated] = applications.given([created]).when(edit).events();
    expect(updated).toEqual({
      type: 'application.updated',
      data: {
        application_id: 'app_1',
        partner_id: 'prt_1',
        tagline: 'Sync leads in seconds',
        categories: ['leads', 'developer-tools'],
        logo_url: null,
      },
    });
    // unchanged values are not repeated
    expect(
      applications
        .given([created])
        .when({ type: 'UpdateApplication', data: { application_id: 'app_1', tagline: good.tagline } })
        .events(),
    ).toEqual([]);
    const s = applications.given([created, updated as ApplicationEvent]).state;
    expect(s).toMatchObject({
      tagline: 'Sync leads in seconds',
      categories: ['leads', 'developer-tools'],
      logo_url: null,
      support_email: 'help@acme.test',
    });
  });

  it('refuses approval when the validation failed, and out-of-order transitions', () => {
    const failed = [
      created,
      ...applications
        .given([created])
        .when(submit({ [good.webhook_url]: { ok: false, reason: 'loopback' } }))
        .events(),
    ];
    expect(applications.given(failed).state?.validation?.passed).toBe(false);
    const reviewing = [
      ...failed,
      ...applications
        .given(failed)
        .when({ type: 'StartReview', data: { application_id: 'app_1', reviewer: 'r', note: null } })
        .events(),
    ];
    expect(
      applications.given(reviewing).when({ type: 'ApproveApplication', data: { application_id: 'app_1', reviewer: 'r', note: null } })
        .events,
    ).toThrow(/security validation failed \(webhook_url_public\)/);
    const changes = [
      ...reviewing,
      ...applications
        .given(reviewing)
        .when({ type: 'RequestChanges', data: { application_id: 'app_1', reviewer: 'r', note: 'fix the webhook' } })
        .events(),
    ];
    expect(applications.given(changes).state?.status).toBe('changes_requested');
    expect(
      applications
        .given(changes)
        .when({ type: 'UpdateApplication', data: { application_id: 'app_1', webhook_url: null } })
        .events(),
    ).toHaveLength(1);
    expect(
      applications.given(changes).when({ type: 'PublishApplication', data: { application_id: 'app_1' }, partner_status: 'active', now })
        .events,
    ).toThrow(IllegalTransitionError);
    expect(applications.given(reviewing).when({ type: 'UpdateApplication', data: { application_id: 'app_1', name: 'x' } }).events).toThrow(
      IllegalTransitionError,
    );
    expect(applications.given([created]).when({ ...submit(), partner_status: 'suspended' }).events).toThrow(/partner is suspended/);
  });
});
