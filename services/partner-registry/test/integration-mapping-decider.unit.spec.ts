import type { PlatformEvent } from '@pep/contracts';
import { ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decideIntegration, type IntegrationCommand } from '../src/domain/integration/decide.ts';
import { currentMappings, evolveIntegration, type IntegrationEvent, type IntegrationState } from '../src/domain/integration/integration.ts';

let seq = 0;
const now = new Date('2026-02-01T10:00:00Z');
/** given: these past events (all at `now`, numbered in order) → the state the decider sees. */
const integrations = deciderSpec<IntegrationState | undefined, IntegrationCommand, IntegrationEvent>({
  decide: decideIntegration,
  evolve: (acc, e) =>
    evolveIntegration(acc, {
      specversion: '1.0',
      id: `e${++seq}`,
      source: 't',
      type: e.type,
      time: now.toISOString(),
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: 'prt_1',
      data: e.data,
      seq,
    } as PlatformEvent & { seq: number }),
  initialState: () => undefined,
});
const connected: IntegrationEvent = {
  type: 'integration.connected',
  data: {
    integration_id: 'int_1',
    application_id: 'app_1',
    customer_id: 'cus_1',
    scopes: [],
    connected_by: 'key_1',
    connected_at: now.toISOString(),
  },
};
const disconnected: IntegrationEvent = {
  type: 'integration.disconnected',
  data: {
    integration_id: 'int_1',
    application_id: 'app_1',
    customer_id: 'cus_1',
    reason: 'uninstalled',
    initiated_by: 'partner',
    disconnected_at: now.toISOString(),
  },
};
const mappingSet = (event_type: string, version: number, expression: string): IntegrationEvent => ({
  type: 'integration.mapping_set',
  data: { integration_id: 'int_1', event_type, version, expression, set_by: 'key_1', set_at: now.toISOString() },
});
const set = (event_type: string, expression: string): IntegrationCommand => ({
  type: 'SetMapping',
  data: { integration_id: 'int_1', event_type, expression, set_by: 'key_1' },
  now,
});
const remove = (event_type: string): IntegrationCommand => ({
  type: 'RemoveMapping',
  data: { integration_id: 'int_1', event_type, removed_by: 'key_1' },
  now,
});
const error = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
};

describe('mapping decider', () => {
  it('given a connected integration, when a mapping is saved, then mapping_set version 1', () => {
    const events = integrations.given([connected]).when(set('lead.created', '{ "name": first_name }')).events();
    expect(events).toEqual([mappingSet('lead.created', 1, '{ "name": first_name }')]);
  });

  it('given a saved mapping, when it changes, then the next version; when saved unchanged, then nothing', () => {
    const g = integrations.given([connected, mappingSet('lead.created', 1, 'a')]);
    expect(g.when(set('lead.created', 'b')).events()).toEqual([mappingSet('lead.created', 2, 'b')]);
    expect(g.when(set('lead.created', 'a')).events()).toEqual([]);
    // Versions are per event type.
    expect(g.when(set('*', 'a')).events()).toEqual([mappingSet('*', 1, 'a')]);
  });

  it('given a removed mapping, when saved again, then its version count goes on', () => {
    const removed = integrations
      .given([connected, mappingSet('lead.created', 1, 'a'), mappingSet('lead.created', 2, 'b')])
      .when(remove('lead.created'))
      .events();
    expect(removed).toEqual([
      {
        type: 'integration.mapping_removed',
        data: { integration_id: 'int_1', event_type: 'lead.created', version: 2, removed_by: 'key_1', removed_at: now.toISOString() },
      },
    ]);
    const after = integrations.given([connected, mappingSet('lead.created', 1, 'a'), mappingSet('lead.created', 2, 'b'), ...removed]);
    expect(after.state && currentMappings(after.state)).toEqual([]);
    expect(after.when(set('lead.created', 'a')).events()).toEqual([mappingSet('lead.created', 3, 'a')]);
  });

  it('when the expression does not compile, then a 422 on expression naming the error and its position', () => {
    const err = error(integrations.given([connected]).when(set('lead.created', '{ "a": first_name ')).events);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(422);
    expect(v.errors[0]?.path).toBe('expression');
    expect(v.errors[0]?.message).toMatch(/^S0\d{3}: .* at position \d+$/);
    expect(v.extensions.expression_error).toMatchObject({ code: expect.stringMatching(/^S0/), position: expect.any(Number) });
  });

  it('when the expression uses a regular expression or $eval, then a 422 (they cannot be bounded)', () => {
    const g = integrations.given([connected]);
    expect((error(g.when(set('*', '$match(name, /(a+)+$/)')).events) as ValidationError).errors[0]?.message).toMatch(
      /M0001: regular expressions are not allowed/,
    );
    expect((error(g.when(set('*', '$eval("1+1")')).events) as ValidationError).errors[0]?.message).toMatch(/M0002/);
  });

  it('given a disconnected integration, when a mapping is saved, then 409; given none, 404', () => {
    expect((error(integrations.given([connected, disconnected]).when(set('*', 'a')).events) as { status: number }).status).toBe(409);
    expect((error(integrations.given().when(set('*', 'a')).events) as { status: number }).status).toBe(404);
    expect((error(integrations.given([connected]).when(remove('lead.created')).events) as { status: number }).status).toBe(404);
  });

  it('the API view of the integration does not carry the mappings', () => {
    const { state } = integrations.given([connected, mappingSet('lead.*', 1, 'a')]);
    expect(state && currentMappings(state)).toEqual([
      {
        object: 'integration_mapping',
        integration_id: 'int_1',
        event_type: 'lead.*',
        version: 1,
        expression: 'a',
        updated_at: now.toISOString(),
      },
    ]);
  });
});
