import { isCredentialEvent, matchesAnyFilter } from '@pep/contracts';
import { decryptSecret } from '@pep/webhooks';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import { ENDPOINTS_PROJECTION, type EndpointRow } from '../projections/endpoints/index.ts';

export interface CachedEndpoint {
  row: EndpointRow;
  secret: string;
  previousSecret: string | null;
  previousExpiresAt: number;
}

/**
 * The endpoints this process dispatches to, read from the endpoints projection and reloaded whenever the
 * projection's checkpoint moves. Secrets are decrypted once per load.
 */
export class EndpointCache {
  private byId = new Map<string, CachedEndpoint>();
  private byPartner = new Map<string, CachedEndpoint[]>();
  private loadedAt = -1;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<DispatcherDB>,
    private readonly key: Buffer,
  ) {}

  /**
   * Reloads when the projection checkpoint moved since the last load. What was committed before the call is
   * seen when it returns: a load already running may have read the checkpoint too early, so the call waits
   * for it and then loads again (joining only a load that started after the call).
   */
  async refresh(): Promise<void> {
    if (this.loading) {
      await this.loading.catch(() => undefined);
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
      for (const row of rows) {
        const c: CachedEndpoint = {
          row,
          secret: decryptSecret(row.secret_sealed, this.key, row.id),
          previousSecret: row.previous_secret_sealed ? decryptSecret(row.previous_secret_sealed, this.key, row.id) : null,
          previousExpiresAt: row.previous_expires_at?.getTime() ?? 0,
        };
        byId.set(row.id, c);
        const list = byPartner.get(row.partner_id) ?? [];
        list.push(c);
        byPartner.set(row.partner_id, list);
      }
      this.byId = byId;
      this.byPartner = byPartner;
      this.loadedAt = seq;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
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
    if (!partnerId || isCredentialEvent(type)) return [];
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
