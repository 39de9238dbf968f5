import type { Logger } from '@pep/runtime';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type Kysely, sql } from 'kysely';
import type { GatewayDB } from '../db/schema.ts';

type Kind = 'grant' | 'jti';

/**
 * Revoked grants and access-token ids. Access tokens are JWTs every replica verifies locally, so revoking a
 * refresh token (its grant) or an access token must reach every replica: the revocation is stored (for
 * replicas that start later) and broadcast on a core NATS subject (for the running ones), and checked in
 * memory on every request. Entries live as long as the tokens they can affect.
 */
export async function startRevocations(opts: { db: Kysely<GatewayDB>; nc: NatsConnection; subject: string; logger: Logger }) {
  const { db } = opts;
  const revoked = new Map<string, number>();
  const key = (kind: Kind, id: string) => `${kind}:${id}`;
  const remember = (kind: Kind, id: string, expiresAt: number) => {
    if (expiresAt > Date.now()) revoked.set(key(kind, id), expiresAt);
  };

  const sub: Subscription = opts.nc.subscribe(opts.subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const m = JSON.parse(new TextDecoder().decode(msg.data)) as { kind: Kind; id: string; expires_at: number };
        remember(m.kind, m.id, m.expires_at);
      } catch (e) {
        opts.logger.warn('bad revocation broadcast', { err: e });
      }
    },
  });
  await opts.nc.flush();
  for (const r of await db.selectFrom('oauth_revocations').selectAll().where('expires_at', '>', sql<Date>`now()`).execute()) {
    remember(r.kind, r.id, r.expires_at.getTime());
  }
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, exp] of revoked) if (exp <= now) revoked.delete(k);
  }, 60_000);
  sweep.unref();

  return {
    isRevoked(kind: Kind, id: string | undefined): boolean {
      if (!id) return false;
      const exp = revoked.get(key(kind, id));
      return exp !== undefined && exp > Date.now();
    },
    async revoke(kind: Kind, id: string, expiresAt: number): Promise<void> {
      remember(kind, id, expiresAt);
      await db
        .insertInto('oauth_revocations')
        .values({ kind, id, expires_at: new Date(expiresAt) })
        .onConflict((oc) =>
          oc.columns(['kind', 'id']).doUpdateSet({ expires_at: sql`greatest(oauth_revocations.expires_at, excluded.expires_at)` }),
        )
        .execute();
      opts.nc.publish(opts.subject, JSON.stringify({ kind, id, expires_at: expiresAt }));
      await opts.nc.flush();
    },
    stop() {
      clearInterval(sweep);
      sub.unsubscribe();
    },
  };
}
export type Revocations = Awaited<ReturnType<typeof startRevocations>>;
