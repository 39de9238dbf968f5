import { eventTypeMatches, matchesAnyFilter } from '@pep/contracts';
import { ConflictError, NotFoundError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decide, type EndpointCommand } from '../src/domain/webhook-endpoint/decide.ts';
import {
  type EndpointEventDraft,
  type EndpointState,
  evolve,
  initialEndpointState,
} from '../src/domain/webhook-endpoint/webhook-endpoint.ts';

const T = '2026-01-01T00:00:00.000Z';
const settings = {
  url: 'https://h.example/in',
  description: '',
  event_types: ['lead.*'],
  rate_limit_per_s: null,
  timeout_ms: 2000,
  headers: {},
  payload_format: 'standard_webhooks' as const,
};
const created: EndpointEventDraft = {
  type: 'webhook_endpoint.created',
  data: { endpoint_id: 'wep_1', partner_id: 'prt_1', ...settings, secret_sealed: 'enc:v1:a' },
};

/** given past events (all at T), when a command, then events (or an error). */
const endpoints = deciderSpec<EndpointState, EndpointCommand, EndpointEventDraft>({
  decide,
  evolve: (s, e) => evolve(s, { ...e, time: T }),
  initialState: initialEndpointState,
});

describe('webhook endpoint decider', () => {
  it('creates once', () => {
    const create: EndpointCommand = {
      kind: 'CreateEndpoint',
      endpoint_id: 'wep_1',
      partner_id: 'prt_1',
      settings,
      secret_sealed: 'enc:v1:a',
    };
    expect(endpoints.given().when(create).events()).toEqual([created]);
    expect(endpoints.given([created]).when(create).events).toThrow(ConflictError);
  });

  it('updates only what changed, and toggles enabled with its own events', () => {
    expect(
      endpoints
        .given([created])
        .when({ kind: 'UpdateEndpoint', changes: { url: settings.url, description: 'crm' } })
        .events(),
    ).toEqual([{ type: 'webhook_endpoint.updated', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', description: 'crm' } }]);
    expect(endpoints.given([created]).when({ kind: 'UpdateEndpoint', changes: {}, enabled: false }).events()).toEqual([
      { type: 'webhook_endpoint.disabled', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', reason: 'manual' } },
    ]);
    expect(endpoints.given([created]).when({ kind: 'UpdateEndpoint', changes: {}, enabled: true }).events()).toEqual([]);
  });

  it('reads a created event written before payload formats as the default, and changes the format by update', () => {
    const { payload_format: _f, ...legacySettings } = settings;
    const legacy: EndpointEventDraft = {
      type: 'webhook_endpoint.created',
      data: { endpoint_id: 'wep_1', partner_id: 'prt_1', ...legacySettings, secret_sealed: 'enc:v1:a' },
    };
    const g = endpoints.given([legacy]);
    expect(g.state.payload_format).toBe('standard_webhooks');
    const changed = g.when({ kind: 'UpdateEndpoint', changes: { payload_format: 'cloudevents_binary' } }).events();
    expect(changed).toEqual([
      { type: 'webhook_endpoint.updated', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', payload_format: 'cloudevents_binary' } },
    ]);
    expect(endpoints.given([legacy, changed[0]!]).state.payload_format).toBe('cloudevents_binary');
    expect(
      endpoints
        .given([legacy, changed[0]!])
        .when({ kind: 'UpdateEndpoint', changes: { payload_format: 'cloudevents_binary' } })
        .events(),
    ).toEqual([]);
  });

  it('disables idempotently (410, failing) and re-enables', () => {
    const disabled: EndpointEventDraft = {
      type: 'webhook_endpoint.disabled',
      data: { endpoint_id: 'wep_1', partner_id: 'prt_1', reason: 'gone' },
    };
    expect(endpoints.given([created]).when({ kind: 'DisableEndpoint', reason: 'gone' }).events()).toEqual([disabled]);
    expect(endpoints.given([created, disabled]).when({ kind: 'DisableEndpoint', reason: 'failing' }).events()).toEqual([]);
    const g = endpoints.given([created, disabled]);
    expect(g.state).toMatchObject({ enabled: false, disabled_reason: 'gone' });
    expect(g.when({ kind: 'UpdateEndpoint', changes: {}, enabled: true }).events()).toEqual([
      { type: 'webhook_endpoint.enabled', data: { endpoint_id: 'wep_1', partner_id: 'prt_1' } },
    ]);
  });

  it('rotates keeping the previous secret for the grace period', () => {
    const [e] = endpoints
      .given([created])
      .when({ kind: 'RotateSecret', secret_sealed: 'enc:v1:b', now: new Date(T), grace_ms: 86_400_000 })
      .events();
    expect(e).toEqual({
      type: 'webhook_endpoint.secret_rotated',
      data: {
        endpoint_id: 'wep_1',
        partner_id: 'prt_1',
        secret_sealed: 'enc:v1:b',
        previous_secret_sealed: 'enc:v1:a',
        previous_expires_at: '2026-01-02T00:00:00.000Z',
      },
    });
  });

  it('refuses commands on a missing or deleted endpoint', () => {
    expect(endpoints.given().when({ kind: 'DeleteEndpoint' }).events).toThrow(NotFoundError);
    const deleted: EndpointEventDraft = { type: 'webhook_endpoint.deleted', data: { endpoint_id: 'wep_1', partner_id: 'prt_1' } };
    expect(endpoints.given([created, deleted]).when({ kind: 'UpdateEndpoint', changes: { description: 'x' } }).events).toThrow(
      NotFoundError,
    );
  });
});

describe('event type filters', () => {
  it.each([
    ['*', 'lead.created', true],
    ['lead.*', 'lead.created', true],
    ['lead.*', 'lead.sub.created', true],
    ['lead.*', 'leads.created', false],
    ['lead.*', 'policy.created', false],
    ['lead.created', 'lead.created', true],
    ['lead.created', 'lead.created_x', false],
  ])('%s matches %s: %s', (f, t, want) => {
    expect(eventTypeMatches(f, t)).toBe(want);
  });
  it('matches any of several', () => {
    expect(matchesAnyFilter(['claim.paid', 'lead.*'], 'lead.updated')).toBe(true);
    expect(matchesAnyFilter(['claim.paid'], 'claim.filed')).toBe(false);
  });
});
