import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { type Kysely, sql } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { GatewayDB } from '../db/schema.ts';

type Db = Kysely<GatewayDB>;

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * oidc-provider's adapter over Postgres, one row per artifact (`model`, `id`). Clients are not stored here:
 * `findClient` answers from the gateway's projection of `oauth_client.*` events.
 */
export function pgAdapterClass(db: Db, findClient: (id: string) => AdapterPayload | undefined) {
  return class PgAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed by the partner-registry');
      const expiresAt = typeof expiresIn === 'number' && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null;
      const row = {
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: GRANTABLE.has(this.model) && typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
        expires_at: expiresAt,
        consumed_at: null,
      };
      await db
        .insertInto('oauth_payloads')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({
            payload: sql`excluded.payload`,
            grant_id: sql`excluded.grant_id`,
            uid: sql`excluded.uid`,
            user_code: sql`excluded.user_code`,
            expires_at: sql`excluded.expires_at`,
          }),
        )
        .execute();
    }

    private async one(where: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const row = await db
        .selectFrom('oauth_payloads')
        .select(['payload', 'consumed_at', 'expires_at'])
        .where('model', '=', this.model)
        .where(where, '=', value)
        .executeTakeFirst();
      if (!row || (row.expires_at && row.expires_at.getTime() <= Date.now())) return undefined;
      return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return findClient(id);
      return this.one('id', id);
    }

    findByUid(uid: string) {
      return this.one('uid', uid);
    }

    findByUserCode(userCode: string) {
      return this.one('user_code', userCode);
    }

    async consume(id: string): Promise<void> {
      // Single use: the first consumer marks it; oidc-provider refuses a consumed code and revokes its grant.
      await db
        .updateTable('oauth_payloads')
        .set({ consumed_at: sql`now()` })
        .where('model', '=', this.model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .execute();
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oauth_payloads').where('model', '=', this.model).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.deleteFrom('oauth_payloads').where('model', '=', this.model).where('grant_id', '=', grantId).execute();
    }
  };
}

/** Deletes expired artifacts (run now and then). */
export async function purgeExpired(db: Db): Promise<void> {
  await db.deleteFrom('oauth_payloads').where('expires_at', '<', sql<Date>`now() - interval '1 hour'`).execute();
  await db.deleteFrom('oauth_revocations').where('expires_at', '<', sql<Date>`now()`).execute();
}

// Signing keys ----------------------------------------------------------------------------------------

export const SIGNING_ALG = 'ES256';

async function newSigningKey(db: Db): Promise<void> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = `k_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  await db
    .insertInto('oauth_signing_keys')
    .values({ kid, private_jwk: JSON.stringify(jwk) })
    .execute();
}

/**
 * The signing keys, newest first (the newest signs; older ones stay in the JWKS so tokens they signed keep
 * verifying). A new key is made when there is none or the newest is older than `rotateAfterDays`; at most
 * `keep` keys are kept. Replicas starting together serialise on an advisory lock.
 */
export async function ensureSigningKeys(db: Db, opts: { rotateAfterDays: number; keep: number; force?: boolean }): Promise<JWK[]> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('gateway.oauth.signing_keys'))`.execute(trx);
    const newest = await trx.selectFrom('oauth_signing_keys').select('created_at').orderBy('created_at', 'desc').executeTakeFirst();
    const stale = !newest || Date.now() - newest.created_at.getTime() > opts.rotateAfterDays * 86_400_000;
    if (stale || opts.force) await newSigningKey(trx);
    const old = await trx
      .selectFrom('oauth_signing_keys')
      .select('kid')
      .orderBy('created_at', 'desc')
      .offset(opts.keep)
      .limit(100)
      .execute();
    if (old.length) {
      await trx
        .deleteFrom('oauth_signing_keys')
        .where(
          'kid',
          'in',
          old.map((o) => o.kid),
        )
        .execute();
    }
  });
  return loadSigningKeys(db);
}

export async function loadSigningKeys(db: Db): Promise<JWK[]> {
  const rows = await db.selectFrom('oauth_signing_keys').select('private_jwk').orderBy('created_at', 'desc').execute();
  return rows.map((r) => r.private_jwk);
}

export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/** A secret shared by every replica (cookie signing keys), made once. */
export async function sharedSecret(db: Db, name: string): Promise<string> {
  await db
    .insertInto('oauth_secrets')
    .values({ name, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return (await db.selectFrom('oauth_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()).value;
}
