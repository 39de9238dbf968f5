import { eventTypeMatches, matchesAnyFilter } from '@pep/contracts';
import { ConflictError, NotFoundError } from '@pep/runtime';
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

/** given past events, when a command, then events (or an error). */
function given(...events: EndpointEventDraft[]) {
  const state = events.reduce<EndpointState>((s, e) => evolve(s, { ...e, time: T }), initialEndpointState());
  return { when: (c: EndpointCommand) => () => decide(c, state), state };
}

describe('webhook endpoint decider', () => {
  it('creates once', () => {
    const create: EndpointCommand = {
      kind: 'CreateEndpoint',
      endpoint_id: 'wep_1',
      partner_id: 'prt_1',
      settings,
      secret_sealed: 'enc:v1:a',
    };
    expect(given().when(create)()).toEqual([created]);
    expect(given(created).when(create)).toThrow(ConflictError);
  });

  it('updates only what changed, and toggles enabled with its own events', () => {
    expect(given(created).when({ kind: 'UpdateEndpoint', changes: { url: settings.url, description: 'crm' } })()).toEqual([
      { type: 'webhook_endpoint.updated', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', description: 'crm' } },
    ]);
    expect(given(created).when({ kind: 'UpdateEndpoint', changes: {}, enabled: false })()).toEqual([
      { type: 'webhook_endpoint.disabled', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', reason: 'manual' } },
    ]);
    expect(given(created).when({ kind: 'UpdateEndpoint', changes: {}, enabled: true })()).toEqual([]);
  });

  it('reads a created event written before payload formats as the default, and changes the format by update', () => {
    const { payload_format: _f, ...legacySettings } = settings;
    const legacy: EndpointEventDraft = {
      type: 'webhook_endpoint.created',
      data: { endpoint_id: 'wep_1', partner_id: 'prt_1', ...legacySettings, secret_sealed: 'enc:v1:a' },
    };
    const g = given(legacy);
    expect(g.state.payload_format).toBe('standard_webhooks');
    const changed = g.when({ kind: 'UpdateEndpoint', changes: { payload_format: 'cloudevents_binary' } })();
    expect(changed).toEqual([
      { type: 'webhook_endpoint.updated', data: { endpoint_id: 'wep_1', partner_id: 'prt_1', payload_format: 'cloudevents_binary' } },
    ]);
    expect(given(legacy, changed[0]!).state.payload_format).toBe('cloudevents_binary');
    expect(given(legacy, changed[0]!).when({ kind: 'UpdateEndpoint', changes: { payload_format: 'cloudevents_binary' } })()).toEqual([]);
  });

  it('disables idempotently (410, failing) and re-enables', () => {
    const disabled: EndpointEventDraft = {
      type: 'webhook_endpoint.disabled',
      data: { endpoint_id: 'wep_1', partner_id: 'prt_1', reason: 'gone' },
    };
    expect(given(created).when({ kind: 'DisableEndpoint', reason: 'gone' })()).toEqual([disabled]);
    expect(given(created, disabled).when({ kind: 'DisableEndpoint', reason: 'failing' })()).toEqual([]);
    const g = given(created, disabled);
    expect(g.state).toMatchObject({ enabled: false, disabled_reason: 'gone' });
    expect(g.when({ kind: 'UpdateEndpoint', changes: {}, enabled: true })()).toEqual([
      { type: 'webhook_endpoint.enabled', data: { endpoint_id: 'wep_1', partner_id: 'prt_1' } },
    ]);
  });

  it('rotates keeping the previous secret for the grace period', () => {
    const [e] = given(created).when({ kind: 'RotateSecret', secret_sealed: 'enc:v1:b', now: new Date(T), grace_ms: 86_400_000 })();
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
    expect(given().when({ kind: 'DeleteEndpoint' })).toThrow(NotFoundError);
    const deleted: EndpointEventDraft = { type: 'webhook_endpoint.deleted', data: { endpoint_id: 'wep_1', partner_id: 'prt_1' } };
    expect(given(created, deleted).when({ kind: 'UpdateEndpoint', changes: { description: 'x' } })).toThrow(NotFoundError);
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
