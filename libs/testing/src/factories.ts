import type { PlatformEvent } from '@pep/contracts';
import { newId } from '@pep/runtime';
import type { Created } from './json.ts';

/** An event as an outside publisher would send it (id and time fresh unless given). */
export function envelope(type: string, data: unknown, opts: { partnerid?: string; time?: string; id?: string } = {}): PlatformEvent {
  return {
    specversion: '1.0',
    id: opts.id ?? newId('evt'),
    source: 'urn:test',
    type,
    time: opts.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    data,
    ...(opts.partnerid ? { partnerid: opts.partnerid } : {}),
  };
}

/** The body that creates a partner named `name` (a contact address derived from the name). */
export function newPartnerBody(name = 'Acme', extra: Record<string, unknown> = {}) {
  const domain = name.toLowerCase().replace(/[^a-z0-9]+/g, '-') || 'partner';
  return { name, type: 'technology', contact_email: `ops@${domain}.example.com`, ...extra };
}

/** Any way a test calls the public API with a credential it holds: answers the body of a 2xx, throws otherwise. */
export type ApiCall = <T = Created>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * A partner through the public API, as a platform admin makes one: created, activated, and given an API key with
 * `scopes` (none when `scopes` is empty). One factory for the cross-service tests and the benches.
 */
export async function newPartner(
  api: ApiCall,
  name = 'Acme',
  opts: { scopes?: string[]; activate?: boolean; body?: Record<string, unknown> } = {},
): Promise<{ id: string; key: string | undefined; keyId: string | undefined }> {
  const p = await api('POST', '/v1/partners', newPartnerBody(name, opts.body));
  if (opts.activate ?? true) await api('POST', `/v1/partners/${p.id}/activate`, {});
  const scopes = opts.scopes ?? ['admin'];
  if (scopes.length === 0) return { id: p.id, key: undefined, keyId: undefined };
  const k = await api<{ id: string; key: string }>('POST', `/v1/partners/${p.id}/api-keys`, { name: 'main', scopes });
  return { id: p.id, key: k.key, keyId: k.id };
}
