import type { PartnerStatus, PartnerTier, PlatformEvent, Principal } from '@pep/contracts';

/**
 * The gateway's authentication state, folded from partner.*, api_key.* and oauth_client.* events: what it
 * needs to turn a credential into a Principal without asking another service. Pure and synchronous; the
 * projection feeds it and persists it.
 */
export interface PartnerEntry {
  id: string;
  status: PartnerStatus;
  tier: PartnerTier;
}

export interface KeyEntry {
  id: string;
  partner_id: string;
  scopes: string[];
  /** Epoch ms, or null for keys that do not expire. */
  expires_at: number | null;
  revoked: boolean;
  rate_limit_per_minute: number | null;
  hash: string;
  previous: { hash: string; valid_until: number } | null;
}

export interface ClientEntry {
  client_id: string;
  application_id: string;
  partner_id: string;
  type: 'confidential' | 'public';
  redirect_uris: string[];
  scopes: string[];
  secret_hash: string | null;
  revoked: boolean;
}

/** Partner states whose credentials work (an onboarding partner may already test its integration). */
const USABLE_PARTNER_STATUSES: ReadonlySet<PartnerStatus> = new Set<PartnerStatus>(['pending', 'active']);

const STATUS_AFTER: Record<string, PartnerStatus> = {
  'partner.activated': 'active',
  'partner.suspended': 'suspended',
  'partner.terminated': 'terminated',
};

export type KeyCheck =
  | { ok: true; principal: Principal; key: KeyEntry; partner: PartnerEntry }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'partner_inactive' };

export type IdentityEvent = Pick<PlatformEvent, 'type' | 'data'>;

export class IdentityState {
  readonly partners = new Map<string, PartnerEntry>();
  readonly keys = new Map<string, KeyEntry>();
  readonly clients = new Map<string, ClientEntry>();
  /** SHA-256 of a secret → the key it belongs to (current and, during an overlap, previous secrets). */
  private readonly byHash = new Map<string, string>();

  static handles(type: string): boolean {
    return type.startsWith('partner.') || type.startsWith('api_key.') || type.startsWith('oauth_client.');
  }

  putPartner(p: PartnerEntry): void {
    this.partners.set(p.id, p);
  }

  putKey(k: KeyEntry): void {
    const old = this.keys.get(k.id);
    if (old) {
      this.byHash.delete(old.hash);
      if (old.previous) this.byHash.delete(old.previous.hash);
    }
    this.keys.set(k.id, k);
    if (!k.revoked) {
      this.byHash.set(k.hash, k.id);
      if (k.previous) this.byHash.set(k.previous.hash, k.id);
    }
  }

  putClient(c: ClientEntry): void {
    this.clients.set(c.client_id, c);
  }

  /** Folds one event; returns the ids it touched (for persistence), or null when it is not an identity event. */
  apply(event: IdentityEvent): { kind: 'partner' | 'api_key' | 'oauth_client'; id: string } | null {
    const d = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'partner.created': {
        const id = d.partner_id as string;
        if (!this.partners.has(id)) this.putPartner({ id, status: 'pending', tier: d.tier as PartnerTier });
        return { kind: 'partner', id };
      }
      case 'partner.updated': {
        const p = this.partners.get(d.partner_id as string);
        if (p && typeof d.tier === 'string') this.putPartner({ ...p, tier: d.tier as PartnerTier });
        return { kind: 'partner', id: d.partner_id as string };
      }
      case 'partner.activated':
      case 'partner.suspended':
      case 'partner.terminated': {
        const p = this.partners.get(d.partner_id as string);
        const status = STATUS_AFTER[event.type] as PartnerStatus;
        if (p) this.putPartner({ ...p, status });
        return { kind: 'partner', id: d.partner_id as string };
      }
      case 'api_key.created': {
        const id = d.api_key_id as string;
        if (!this.keys.has(id)) {
          this.putKey({
            id,
            partner_id: d.partner_id as string,
            scopes: d.scopes as string[],
            expires_at: d.expires_at ? Date.parse(d.expires_at as string) : null,
            revoked: false,
            rate_limit_per_minute: (d.rate_limit_per_minute as number | null) ?? null,
            hash: d.hash as string,
            previous: null,
          });
        }
        return { kind: 'api_key', id };
      }
      case 'api_key.rotated': {
        const k = this.keys.get(d.api_key_id as string);
        if (k && !k.revoked) {
          this.putKey({
            ...k,
            hash: d.hash as string,
            previous: { hash: d.previous_hash as string, valid_until: Date.parse(d.previous_valid_until as string) },
          });
        }
        return { kind: 'api_key', id: d.api_key_id as string };
      }
      case 'api_key.revoked': {
        const k = this.keys.get(d.api_key_id as string);
        if (k) this.putKey({ ...k, revoked: true, previous: null });
        return { kind: 'api_key', id: d.api_key_id as string };
      }
      case 'oauth_client.created': {
        const id = d.client_id as string;
        if (!this.clients.has(id)) {
          this.putClient({
            client_id: id,
            application_id: d.application_id as string,
            partner_id: d.partner_id as string,
            type: d.type as ClientEntry['type'],
            redirect_uris: d.redirect_uris as string[],
            scopes: d.scopes as string[],
            secret_hash: (d.secret_hash as string | null) ?? null,
            revoked: false,
          });
        }
        return { kind: 'oauth_client', id };
      }
      case 'oauth_client.revoked': {
        const c = this.clients.get(d.client_id as string);
        if (c) this.putClient({ ...c, revoked: true });
        return { kind: 'oauth_client', id: d.client_id as string };
      }
      case 'oauth_client.secret_rotated': {
        // The token endpoint compares against this hash: the previous secret stops working with this event.
        const c = this.clients.get(d.client_id as string);
        if (c) this.putClient({ ...c, secret_hash: d.secret_hash as string });
        return { kind: 'oauth_client', id: d.client_id as string };
      }
      default:
        return null;
    }
  }

  partnerUsable(partnerId: string): PartnerEntry | undefined {
    const p = this.partners.get(partnerId);
    return p && USABLE_PARTNER_STATUSES.has(p.status) ? p : undefined;
  }

  /** Checks a presented key by the SHA-256 of it. */
  checkKey(hash: string, now: number): KeyCheck {
    const id = this.byHash.get(hash);
    const key = id === undefined ? undefined : this.keys.get(id);
    if (!key) return { ok: false, reason: 'unknown' };
    if (key.revoked) return { ok: false, reason: 'revoked' };
    if (key.expires_at !== null && key.expires_at <= now) return { ok: false, reason: 'expired' };
    if (key.hash !== hash && (!key.previous || key.previous.hash !== hash || key.previous.valid_until <= now)) {
      return { ok: false, reason: 'expired' };
    }
    const partner = this.partnerUsable(key.partner_id);
    if (!partner) return { ok: false, reason: 'partner_inactive' };
    return {
      ok: true,
      key,
      partner,
      principal: { kind: 'partner', partner_id: key.partner_id, scopes: key.scopes, credential_id: key.id },
    };
  }

  /** An OAuth client that may obtain and use tokens: not revoked, and its partner usable. */
  usableClient(clientId: string): ClientEntry | undefined {
    const c = this.clients.get(clientId);
    if (!c || c.revoked || !this.partnerUsable(c.partner_id)) return undefined;
    return c;
  }
}
