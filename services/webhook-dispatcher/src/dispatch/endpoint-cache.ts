import { isCredentialEvent, matchesAnyFilter } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import { decryptSecret, type Keyring, SecretBoxError, sealedKeyId } from '@pep/webhooks';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import { ENDPOINTS_PROJECTION, type EndpointRow } from '../projections/endpoints/index.ts';

export interface CachedEndpoint {
  row: EndpointRow;
  secret: string;
  previousSecret: string | null;
  previousExpiresAt: number;
}

/** An endpoint left out of the cache because its signing secret cannot be decrypted with the configured keys. */
export interface UnreadableEndpoint {
  endpoint_id: string;
  partner_id: string;
  /** The key id the sealed value names (null: an `enc:v1:` value that no configured key opens). */
  key_id: string | null;
  /** Which secret: the current one, or the previous one during its grace period. */
  which: 'secret' | 'previous_secret';
  error: string;
}

/**
 * The endpoints this process dispatches to, read from the endpoints projection and reloaded whenever the
 * projection's checkpoint moves. Secrets are decrypted once per load. One endpoint whose secret cannot be
 * decrypted (a key rotated away, mistyped, another checkout's key) is quarantined: left out of the cache (it gets
 * no deliveries; its pending ones wait, as for a disabled endpoint), logged with its ids, counted, and listed by
 * `unreadable()`; every other endpoint keeps receiving.
 */
/** The dispatcher's own telemetry: delivering it would make traffic that reports itself (a loop). */
const NEVER_DELIVERED = new Set(['webhook.deliveries.rolled_up', 'integration.delivery_failed']);

export class EndpointCache {
  private byId = new Map<string, CachedEndpoint>();
  private byPartner = new Map<string, CachedEndpoint[]>();
  private unreadableById = new Map<string, UnreadableEndpoint>();
  private loadedAt = -1;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<DispatcherDB>,
    private readonly key: Keyring | Buffer,
    private readonly opts: { logger?: Logger; onUnreadable?: (u: UnreadableEndpoint) => void } = {},
  ) {}

  /** Endpoints left out of the last load because a secret could not be decrypted. */
  unreadable(): UnreadableEndpoint[] {
    return [...this.unreadableById.values()];
  }

  /**
   * Reloads when the projection checkpoint moved since the last load. What was committed before the call is
   * seen when it returns: a load already running may have read the checkpoint too early, so the call waits
   * for it and then loads again (joining only a load that started after the call).
   */
  async refresh(): Promise<void> {
    if (this.loading) {
      // Its failure is its own caller's to report; this call loads again below.
      await this.loading.catch((err: unknown) => this.opts.logger?.debug('a concurrent endpoint load failed; loading again', { err }));
      if (this.loading) return this.loading;
    }
    this.loading = (async () => {
      const cp = await this.db
        .selectFrom('projection_checkpoints')
        .select('seq')
        .where('name', '=', ENDPOINTS_PROJECTION)
        .executeTakeFirst();
      const seq = cp?.seq ?? 0;
      if (seq === this.loadedAt) return;
      const rows = await this.db.selectFrom('webhook_endpoints').selectAll().where('deleted', '=', false).execute();
      const byId = new Map<string, CachedEndpoint>();
      const byPartner = new Map<string, CachedEndpoint[]>();
      const unreadable = new Map<string, UnreadableEndpoint>();
      for (const row of rows) {
        const c = this.open(row, unreadable);
        if (!c) continue;
        byId.set(row.id, c);
        const list = byPartner.get(row.partner_id) ?? [];
        list.push(c);
        byPartner.set(row.partner_id, list);
      }
      this.byId = byId;
      this.byPartner = byPartner;
      this.unreadableById = unreadable;
      this.loadedAt = seq;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Decrypts an endpoint's secrets. An unreadable current secret quarantines the endpoint; an unreadable previous
   * one (kept only for its grace period) is dropped and the endpoint signs with the current one alone.
   */
  private open(row: EndpointRow, unreadable: Map<string, UnreadableEndpoint>): CachedEndpoint | undefined {
    const attempt = (sealed: string, which: UnreadableEndpoint['which']): string | undefined => {
      try {
        return decryptSecret(sealed, this.key, row.id);
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        const u: UnreadableEndpoint = {
          endpoint_id: row.id,
          partner_id: row.partner_id,
          key_id: err.keyId ?? sealedKeyId(sealed) ?? null,
          which,
          error: err.message,
        };
        // Logged and counted once per endpoint and secret, not on every reload.
        const before = this.unreadableById.get(row.id);
        if (which === 'previous_secret' || !before || before.key_id !== u.key_id) {
          this.opts.logger?.error(
            'endpoint secret cannot be decrypted; endpoint skipped until its secret is rotated or the key configured',
            {
              endpoint_id: u.endpoint_id,
              partner_id: u.partner_id,
              key_id: u.key_id,
              which,
              err: u.error,
            },
          );
          this.opts.onUnreadable?.(u);
        }
        // Only an unreadable current secret takes the endpoint out; a previous one just stops signing.
        if (which === 'secret') unreadable.set(row.id, u);
        return undefined;
      }
    };
    const secret = attempt(row.secret_sealed, 'secret');
    if (secret === undefined) return undefined;
    const inGrace = row.previous_secret_sealed && (row.previous_expires_at?.getTime() ?? 0) > Date.now();
    const previousSecret = inGrace ? (attempt(row.previous_secret_sealed as string, 'previous_secret') ?? null) : null;
    return { row, secret, previousSecret, previousExpiresAt: previousSecret ? (row.previous_expires_at?.getTime() ?? 0) : 0 };
  }

  /** The endpoints projection checkpoint this cache reflects (every endpoint event up to it is applied). */
  get loadedSeq(): number {
    return this.loadedAt;
  }

  get(id: string): CachedEndpoint | undefined {
    return this.byId.get(id);
  }

  enabled(): CachedEndpoint[] {
    return [...this.byId.values()].filter((e) => e.row.enabled);
  }

  /**
   * Enabled endpoints of the event's partner whose filter matches its type. A `webhook.delivery.exhausted`
   * event is never delivered to the endpoint it is about (a failing endpoint would otherwise feed itself).
   * Events stored before the endpoint existed are not delivered (`storedAtMs`: the stream timestamp);
   * those are what a replay is for. Credential events (`webhook_endpoint.*`, `api_key.*`, `oauth_client.*`:
   * they carry secrets' ciphertext or hashes) are never delivered, whatever the filter.
   */
  matching(partnerId: string | undefined, type: string, data: unknown, storedAtMs = Number.POSITIVE_INFINITY): CachedEndpoint[] {
    if (!partnerId || isCredentialEvent(type) || NEVER_DELIVERED.has(type)) return [];
    const list = this.byPartner.get(partnerId);
    if (!list) return [];
    return list.filter(
      (e) =>
        e.row.enabled &&
        e.row.created_at.getTime() <= storedAtMs &&
        matchesAnyFilter(e.row.event_types, type) &&
        !(type === 'webhook.delivery.exhausted' && (data as { endpoint_id?: string } | null)?.endpoint_id === e.row.id),
    );
  }

  /** Secrets that sign a delivery now: the current one, plus the previous one during its grace period. */
  secretsFor(e: CachedEndpoint, now: number): string[] {
    return e.previousSecret && e.previousExpiresAt > now ? [e.secret, e.previousSecret] : [e.secret];
  }
}
