// The OAuth authorizations partners granted (oidc-provider's `Grant` artifacts), as the gateway-answered routes
// GET /v1/oauth/grants and DELETE /v1/oauth/grants/{id} (contracts/identity/grants.ts).
import type { OAuthGrant, Principal, RpcReply } from '@pep/contracts';
import { type Logger, NotFoundError } from '@pep/runtime';
import type { ClientNats } from '@nestjs/microservices';
import { type Kysely, sql } from 'kysely';
import type Provider from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';
import type { GatewayDB } from '../db/schema.ts';
import { jsonResult } from '../http/http-result.ts';
import type { LocalInput, LocalRoutes } from '../http/local-routes.ts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { requestService, rpcSubject } from '../routing/rpc-client.ts';
import { REFRESH_TOKEN_TTL_S } from './provider.ts';
import type { Revocations } from './revocations.ts';

const GATEWAY: Principal = Object.freeze({ kind: 'admin', scopes: ['admin'], credential_id: 'gateway' });
const NONE = '\u0000none';

/** The partner whose grants a principal sees: its own; an admin's optional filter (undefined = every partner). */
function visiblePartner(p: Principal, named: unknown): string | undefined {
  if (p.kind === 'admin') return typeof named === 'string' ? named : undefined;
  if (named !== undefined && named !== p.partner_id) throw new NotFoundError(`partner ${String(named)} not found`);
  return p.partner_id ?? NONE;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const seconds = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000).toISOString() : null);

function scopesOf(payload: AdapterPayload): string[] {
  const resources = (payload.resources ?? {}) as Record<string, unknown>;
  const openid = (payload.openid ?? {}) as { scope?: unknown };
  const words = [...Object.values(resources), openid.scope].flatMap((s) => (typeof s === 'string' ? s.split(' ') : []));
  return [...new Set(words.filter(Boolean))];
}

export function registerGrantRoutes(opts: {
  local: LocalRoutes;
  db: Kysely<GatewayDB>;
  provider: Provider;
  identity: IdentityStore;
  revocations: Revocations;
  client: ClientNats;
  rpcPrefix: string;
  logger: Logger;
}): void {
  const { db } = opts;

  /** Application names from the registry; a registry that does not answer leaves the name out (logged). */
  async function names(applicationIds: string[], requestId: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...new Set(applicationIds)].map(async (id) => {
        const reply: RpcReply | undefined = await requestService(opts.client, {
          subject: rpcSubject(opts.rpcPrefix, 'partner-registry', 'applications.get'),
          service: 'partner-registry',
          timeoutMs: 2000,
          request: { principal: GATEWAY, params: { id }, query: {}, body: undefined, request_id: requestId },
        }).catch((err: unknown) => {
          opts.logger.warn('application name unavailable for a grant list', { application_id: id, err });
          return undefined;
        });
        const name = reply?.ok ? str((reply.body as Record<string, unknown> | null)?.name) : undefined;
        if (name) out.set(id, name);
      }),
    );
    return out;
  }

  function view(id: string, payload: AdapterPayload, appNames: Map<string, string>): OAuthGrant {
    const clientId = str(payload.clientId) ?? '';
    const applicationId = opts.identity.state.clients.get(clientId)?.application_id ?? null;
    return {
      id,
      object: 'oauth_grant',
      partner_id: str(payload.accountId) ?? '',
      client_id: clientId,
      application_id: applicationId,
      application_name: applicationId ? (appNames.get(applicationId) ?? null) : null,
      scopes: scopesOf(payload),
      granted_at: seconds(payload.iat) ?? '',
      expires_at: seconds(payload.exp),
    };
  }

  const live = () =>
    db
      .selectFrom('oauth_payloads')
      .select(['id', 'payload'])
      .where('model', '=', 'Grant')
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]));

  opts.local.add('listOAuthGrants', async ({ principal, query, requestId }: LocalInput) => {
    const partner = visiblePartner(principal, query.partner_id);
    const limit = Number(query.limit ?? 20);
    const iat = sql<number>`(payload->>'iat')::bigint`;
    let q = live();
    if (partner !== undefined) q = q.where(sql<string>`payload->>'accountId'`, '=', partner);
    const after = str(query.starting_after);
    if (after) {
      const cursor = await live().where('id', '=', after).executeTakeFirst();
      if (!cursor || (partner !== undefined && cursor.payload.accountId !== partner)) throw new NotFoundError(`grant ${after} not found`);
      const at = Number(cursor.payload.iat ?? 0);
      q = q.where((eb) => eb.or([eb(iat, '<', at), eb.and([eb(iat, '=', at), eb('id', '<', after)])]));
    }
    const rows = await q
      .orderBy(iat, 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const appIds = page.flatMap((r) => opts.identity.state.clients.get(str(r.payload.clientId) ?? '')?.application_id ?? []);
    const appNames = await names(appIds, requestId);
    return jsonResult(200, { data: page.map((r) => view(r.id, r.payload, appNames)), has_more: rows.length > limit });
  });

  opts.local.add('revokeOAuthGrant', async ({ principal, params, requestId }: LocalInput) => {
    const id = String(params.id);
    const row = await live().where('id', '=', id).executeTakeFirst();
    const partner = visiblePartner(principal, undefined);
    if (!row || (partner !== undefined && row.payload.accountId !== partner)) throw new NotFoundError(`grant ${id} not found`);
    // First the revocation every replica checks (the JWT access tokens stop at once), then the artifacts: a failure
    // half-way leaves nothing usable, and the grant is still there to revoke again.
    await opts.revocations.revoke('grant', id, Date.now() + REFRESH_TOKEN_TTL_S * 1000);
    await db.deleteFrom('oauth_payloads').where('grant_id', '=', id).execute();
    const grant = await opts.provider.Grant.find(id);
    await grant?.destroy();
    opts.logger.info('oauth grant revoked', { grant_id: id, partner_id: row.payload.accountId, by: principal.credential_id });
    const appId = opts.identity.state.clients.get(str(row.payload.clientId) ?? '')?.application_id;
    return jsonResult(200, view(id, row.payload, await names(appId ? [appId] : [], requestId)));
  });
}
