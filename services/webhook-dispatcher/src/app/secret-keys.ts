import type { Logger } from '@pep/runtime';
import { decryptSecret, encryptSecret, type Keyring, needsReseal, SecretBoxError } from '@pep/webhooks';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import { previousInGrace } from '../domain/webhook-endpoint/secrets.ts';
import { liveEndpoints } from '../projections/endpoints/index.ts';
import type { EndpointCommands } from './endpoints.ts';

export interface UnreadableSecret {
  endpoint_id: string;
  partner_id: string;
  which: 'secret' | 'previous_secret';
  key_id: string | null;
  error: string;
}

/** Operator use cases over the keyring: which secrets it cannot read, and re-sealing under the current key. */
export function secretKeys(d: {
  db: Kysely<DispatcherDB>;
  logger: Logger;
  commands: EndpointCommands;
  secretKey: Keyring;
  now: () => Date;
}) {
  /** Every live endpoint's secrets read with the keyring: under the current key, to re-seal, or unreadable. */
  const report = async () => {
    const rows = await liveEndpoints(d.db);
    const current: string[] = [];
    const stale: { id: string; secret_sealed: string; secret: string; previous: string | null }[] = [];
    const unreadable: UnreadableSecret[] = [];
    const now = d.now();
    for (const r of rows) {
      let secret: string;
      try {
        secret = decryptSecret(r.secret_sealed, d.secretKey, r.id);
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        unreadable.push({ endpoint_id: r.id, partner_id: r.partner_id, which: 'secret', key_id: err.keyId ?? null, error: err.message });
        continue;
      }
      // A previous secret past its grace period is dropped by the re-seal; one that cannot be read is reported and dropped.
      let previous: string | null = null;
      if (r.previous_secret_sealed && previousInGrace(r.previous_secret_sealed, r.previous_expires_at, now)) {
        try {
          previous = decryptSecret(r.previous_secret_sealed, d.secretKey, r.id);
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          unreadable.push({
            endpoint_id: r.id,
            partner_id: r.partner_id,
            which: 'previous_secret',
            key_id: err.keyId ?? null,
            error: err.message,
          });
        }
      }
      const stalePrevious = r.previous_secret_sealed !== null && (previous === null || needsReseal(r.previous_secret_sealed, d.secretKey));
      if (needsReseal(r.secret_sealed, d.secretKey) || stalePrevious)
        stale.push({ id: r.id, secret_sealed: r.secret_sealed, secret, previous });
      else current.push(r.id);
    }
    return { total: rows.length, current, stale, unreadable };
  };

  return {
    async status() {
      const r = await report();
      return {
        current_key: d.secretKey.current,
        keys: [...d.secretKey.keys.keys()],
        endpoints: r.total,
        under_current_key: r.current.length,
        to_reseal: r.stale.map((s) => s.id),
        unreadable: r.unreadable,
      };
    },

    /**
     * Re-encrypts every endpoint secret under the current key. The stream is the source of truth, so each
     * endpoint gets a `webhook_endpoint.secret_resealed` event through its own aggregate (never a table update);
     * what cannot be read is reported, not touched. `dryRun` only reports.
     */
    async reencrypt(dryRun: boolean, correlationId: string) {
      const r = await report();
      const resealed: string[] = [];
      const failed: { endpoint_id: string; error: string }[] = [];
      for (const s of dryRun ? [] : r.stale) {
        try {
          await d.commands.execute(
            s.id,
            {
              kind: 'ResealSecret',
              key_id: d.secretKey.current,
              expected_secret_sealed: s.secret_sealed,
              secret_sealed: encryptSecret(s.secret, d.secretKey, s.id),
              previous_secret_sealed: s.previous === null ? null : encryptSecret(s.previous, d.secretKey, s.id),
            },
            { correlationId },
          );
          resealed.push(s.id);
        } catch (err) {
          d.logger.warn('re-sealing an endpoint secret failed; reported', { endpoint_id: s.id, err });
          failed.push({ endpoint_id: s.id, error: err instanceof Error ? err.message : String(err) });
        }
      }
      d.logger.info('endpoint secrets re-encrypted', {
        current_key: d.secretKey.current,
        resealed: resealed.length,
        failed: failed.length,
        unreadable: r.unreadable.length,
        dry_run: dryRun,
      });
      return {
        current_key: d.secretKey.current,
        dry_run: dryRun,
        endpoints: r.total,
        already_current: r.current.length,
        resealed: dryRun ? r.stale.map((s) => s.id) : resealed,
        failed,
        unreadable: r.unreadable,
      };
    },
  };
}
