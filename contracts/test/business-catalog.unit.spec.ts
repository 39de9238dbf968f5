import { describe, expect, it } from 'vitest';
import { businessEventExamples, businessEvents, getDefinition, latestVersion, validateEvent } from '../index.ts';

/** The business event types DESIGN.md lists (5 lead, 4 policy, 4 claim, 3 user, 3 integration, 3 billing). */
const DESIGN_TYPES = [
  'lead.created',
  'lead.updated',
  'lead.qualified',
  'lead.assigned',
  'lead.converted',
  'policy.created',
  'policy.updated',
  'policy.renewed',
  'policy.cancelled',
  'claim.filed',
  'claim.approved',
  'claim.denied',
  'claim.paid',
  'user.created',
  'user.updated',
  'user.role_changed',
  'integration.connected',
  'integration.disconnected',
  'integration.failed',
  'billing.usage_updated',
  'billing.invoice_generated',
  'billing.payment_received',
];

/** For each type, one way to break its example, and the field the error must name. */
const BREAKERS: Record<string, { change: (d: Record<string, unknown>) => Record<string, unknown>; path: string }> = {
  'lead.created': { change: (d) => ({ ...d, email: 'not-an-email' }), path: 'data.email' },
  'lead.updated': { change: (d) => ({ ...d, phone: '555-0100' }), path: 'data.phone' },
  'lead.qualified': { change: (d) => ({ ...d, score: 101 }), path: 'data.score' },
  'lead.assigned': { change: ({ assignee_id: _, ...d }) => d, path: 'data.assignee_id' },
  'lead.converted': { change: (d) => ({ ...d, converted_to: 'friend' }), path: 'data.converted_to' },
  'policy.created': { change: (d) => ({ ...d, expiration_date: '2025-01-01' }), path: 'data.expiration_date' },
  'policy.updated': { change: (d) => ({ ...d, currency: 'usd' }), path: 'data.currency' },
  'policy.renewed': { change: (d) => ({ ...d, premium_amount: 10.5 }), path: 'data.premium_amount' },
  'policy.cancelled': { change: (d) => ({ ...d, reason: 'bored' }), path: 'data.reason' },
  'claim.filed': { change: (d) => ({ ...d, incident_date: '12/06/2025' }), path: 'data.incident_date' },
  'claim.approved': { change: (d) => ({ ...d, approved_amount: -1 }), path: 'data.approved_amount' },
  'claim.denied': { change: (d) => ({ ...d, reason_code: 'because' }), path: 'data.reason_code' },
  'claim.paid': { change: (d) => ({ ...d, paid_at: 'yesterday' }), path: 'data.paid_at' },
  'user.created': { change: (d) => ({ ...d, role: 'Super Admin' }), path: 'data.role' },
  'user.updated': { change: (d) => ({ ...d, status: 'deleted' }), path: 'data.status' },
  'user.role_changed': { change: (d) => ({ ...d, new_role: d.previous_role }), path: 'data.new_role' },
  'integration.connected': { change: (d) => ({ ...d, scopes: 'read:leads' }), path: 'data.scopes' },
  'integration.disconnected': { change: ({ integration_id: _, ...d }) => d, path: 'data.integration_id' },
  'integration.failed': { change: (d) => ({ ...d, retryable: 'no' }), path: 'data.retryable' },
  'billing.usage_updated': { change: (d) => ({ ...d, period_end: d.period_start }), path: 'data.period_end' },
  'billing.invoice_generated': { change: (d) => ({ ...d, total: 1 }), path: 'data.total' },
  'billing.payment_received': { change: (d) => ({ ...d, method: 'barter' }), path: 'data.method' },
};

function envelope(type: string, data: unknown, extra: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id: `evt_${type}`,
    source: 'partner/acme',
    type,
    time: '2025-06-01T12:00:00Z',
    partnerid: 'prt_acme',
    data,
    ...extra,
  };
}

describe('business event catalog', () => {
  it('defines exactly the business types DESIGN.md lists (22 names) as external events, categorised by prefix', () => {
    const types = [...new Set(businessEvents.map((d) => d.type))].sort();
    expect(types).toEqual([...DESIGN_TYPES].sort());
    expect(types).toHaveLength(22);
    for (const def of businessEvents) {
      expect(def.origin).toBe('external');
      expect(def.category).toBe(def.type.split('.')[0]);
      expect(def.description.length).toBeGreaterThan(10);
      expect(getDefinition(def.type, def.version)).toBe(def);
    }
  });

  it('keeps every data field snake_case', () => {
    for (const def of businessEvents) {
      const shape = (def.data as unknown as { shape?: Record<string, unknown> }).shape;
      expect(shape, `${def.type} data is an object schema`).toBeDefined();
      for (const key of Object.keys(shape ?? {})) expect(key, `${def.type} v${def.version}`).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    }
  });

  it('lead.created keeps its shape { lead_id, email, first_name?, last_name?, source? }', () => {
    const ok = validateEvent(envelope('lead.created', { lead_id: 'l1', email: 'a@example.com' }));
    expect(ok.ok).toBe(true);
    const full = validateEvent(envelope('lead.created', businessEventExamples['lead.created']));
    expect(full).toMatchObject({ ok: true, event: { data: businessEventExamples['lead.created'] } });
  });

  describe.each(DESIGN_TYPES)('%s', (type) => {
    const example = businessEventExamples[type] as Record<string, unknown>;

    it('accepts a good example at schema version 1 (or the latest)', () => {
      expect(example, `no example for ${type}`).toBeDefined();
      const version = latestVersion(type);
      const result = validateEvent(envelope(type, example, version && version > 1 ? { schemaversion: version } : {}));
      expect(result.ok ? 'ok' : result.issues).toBe('ok');
    });

    it('rejects a bad one, naming the field', () => {
      const breaker = BREAKERS[type];
      expect(breaker, `no breaker for ${type}`).toBeDefined();
      const version = latestVersion(type);
      const bad = breaker!.change({ ...example });
      const result = validateEvent(envelope(type, bad, version && version > 1 ? { schemaversion: version } : {}));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(breaker!.path);
    });

    it('rejects unknown fields (strict schemas)', () => {
      const version = latestVersion(type);
      const result = validateEvent(
        envelope(type, { ...example, surprise: true }, version && version > 1 ? { schemaversion: version } : {}),
      );
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues.some((i) => i.path === 'data' && i.message.includes('surprise'))).toBe(true);
    });
  });

  it('refuses an unknown type, naming `type`', () => {
    const result = validateEvent(envelope('lead.teleported', { lead_id: 'l1' }));
    expect(result).toEqual({ ok: false, issues: [{ path: 'type', message: 'unknown event type "lead.teleported"' }] });
  });

  it('refuses an unknown schema version of a known type, naming `schemaversion`', () => {
    const result = validateEvent(envelope('lead.created', businessEventExamples['lead.created'], { schemaversion: 7 }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.path).toBe('schemaversion');
  });

  it('refuses an envelope without data fields the envelope needs, naming them', () => {
    const { id: _id, ...noId } = envelope('lead.created', businessEventExamples['lead.created']);
    const result = validateEvent(noId);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain('id');
  });

  it('"changed fields only" events need at least one change', () => {
    for (const [type, data] of [
      ['lead.updated', { lead_id: 'l1' }],
      ['policy.updated', { policy_id: 'p1', change_reason: 'nothing' }],
      ['user.updated', { user_id: 'u1' }],
    ] as const) {
      const version = latestVersion(type) ?? 1;
      const result = validateEvent(envelope(type, data, { schemaversion: version }));
      expect(result.ok, type).toBe(false);
    }
  });
});
