import { describe, expect, it } from 'vitest';
import {
  getDefinition,
  LeadUpdated,
  LeadUpdatedV1,
  latestVersion,
  type PlatformEvent,
  upcast,
  upcastLeadUpdatedV1,
  validateEvent,
} from '../index.ts';

// A lead.updated event as a producer wrote it before v2 existed: one `name` field, schema version 1.
const storedV1: PlatformEvent = {
  specversion: '1.0',
  id: 'evt_legacy_1',
  source: 'partner/acme',
  type: 'lead.updated',
  time: '2024-11-02T08:30:00Z',
  datacontenttype: 'application/json',
  schemaversion: 1,
  partnerid: 'prt_acme',
  data: { lead_id: 'lead_001', name: 'Ada King Lovelace' },
};

describe('lead.updated v1 → v2 upcaster', () => {
  it('both versions are in the catalog, v2 is the latest', () => {
    expect(latestVersion('lead.updated')).toBe(2);
    expect(getDefinition('lead.updated')).toBe(LeadUpdated);
    expect(getDefinition('lead.updated', 1)).toBe(LeadUpdatedV1);
  });

  it('reads a stored v1 event as v2', () => {
    const read = upcast(storedV1);
    expect(read.schemaversion).toBe(2);
    expect(read.data).toEqual({ lead_id: 'lead_001', first_name: 'Ada', last_name: 'King Lovelace' });
    // the rest of the envelope is untouched, and the input is not mutated
    expect({ ...read, data: undefined, schemaversion: undefined }).toEqual({ ...storedV1, data: undefined, schemaversion: undefined });
    expect(storedV1.data).toEqual({ lead_id: 'lead_001', name: 'Ada King Lovelace' });
    // what the upcaster produces is valid v2 data
    expect(LeadUpdated.data.safeParse(read.data).success).toBe(true);
  });

  it('a one-word name becomes first_name only', () => {
    expect(upcastLeadUpdatedV1({ lead_id: 'l2', name: '  Cher ' })).toEqual({ lead_id: 'l2', first_name: 'Cher' });
  });

  it('a v2 event passes through unchanged', () => {
    const v2 = { ...storedV1, id: 'evt_2', schemaversion: 2, data: { lead_id: 'lead_001', email: 'ada@example.com' } };
    expect(upcast(v2)).toEqual(v2);
  });

  it('validateEvent accepts a v1 envelope with schemaversion 1 against the v1 schema', () => {
    const result = validateEvent(storedV1);
    expect(result).toMatchObject({ ok: true, event: { schemaversion: 1, data: { lead_id: 'lead_001', name: 'Ada King Lovelace' } } });
    // and a v1 envelope with v2-shaped data is refused, naming the field
    const wrong = validateEvent({ ...storedV1, data: { lead_id: 'lead_001', first_name: 'Ada' } });
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.issues.map((i) => i.path)).toContain('data.name');
  });

  it('an envelope without schemaversion is read as version 1', () => {
    const { schemaversion: _, ...noVersion } = storedV1;
    const result = validateEvent(noVersion);
    expect(result).toMatchObject({ ok: true, event: { schemaversion: 1 } });
    if (result.ok) expect(upcast(result.event).data).toEqual({ lead_id: 'lead_001', first_name: 'Ada', last_name: 'King Lovelace' });
  });

  it('validateEvent accepts v2 data with schemaversion 2', () => {
    const result = validateEvent({ ...storedV1, schemaversion: 2, data: { lead_id: 'lead_001', email: 'ada@example.com' } });
    expect(result.ok).toBe(true);
  });
});
