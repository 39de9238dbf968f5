import type { IncomingMessage, ServerResponse } from 'node:http';
import { hashSecret, parseApiKey, scopeAllows } from '@pep/contracts';
import type Provider from 'oidc-provider';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { escapeHtml, grantableScopes, PROTOCOL_SCOPES } from './provider.ts';

/**
 * The minimal sign-in and consent page of the authorization code flow. The resource owner is a partner: it
 * signs in with one of its API keys (never stored, only checked against the gateway's hashes) and approves
 * the scopes the application asks for; the grant holds the requested scopes that both the application's
 * client and the signing-in key allow.
 */
export function createInteractions(opts: { provider: Provider; identity: IdentityStore; audience: string }) {
  const { provider, identity } = opts;

  const page = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Authorize access</title></head><body>${html}</body></html>`);
  };

  const form = (uid: string, clientId: string, scopes: string[], error?: string) => `
<h1>Authorize ${escapeHtml(clientId)}</h1>
<p>The application <b>${escapeHtml(identity.state.clients.get(clientId)?.application_id ?? clientId)}</b> asks for access to your partner account:</p>
<ul>${scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/oauth/interaction/${escapeHtml(uid)}">
  <label>Your partner API key <input type="password" name="api_key" autocomplete="off" required></label>
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>`;

  const requestedScopes = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);

  return {
    async show(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const details = await provider.interactionDetails(req, res);
      const clientId = String(details.params.client_id);
      page(res, 200, form(details.uid, clientId, requestedScopes(details.params.scope)));
    },

    async submit(req: IncomingMessage, res: ServerResponse, body: URLSearchParams): Promise<void> {
      const details = await provider.interactionDetails(req, res);
      const clientId = String(details.params.client_id);
      const requested = requestedScopes(details.params.scope);
      if (body.get('decision') !== 'approve') {
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the resource owner denied the request' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      const key = body.get('api_key') ?? '';
      const check = parseApiKey(key) ? identity.state.checkKey(hashSecret(key), Date.now()) : undefined;
      const client = identity.state.usableClient(clientId);
      if (!check?.ok || !client) {
        page(res, 401, form(details.uid, clientId, requested, 'That API key is not valid.'));
        return;
      }
      const apiScopes = requested.filter((s) => !PROTOCOL_SCOPES.includes(s));
      const allowed = new Set(grantableScopes(client, apiScopes));
      const granted = apiScopes.filter((s) => allowed.has(s) && scopeAllows(check.principal.scopes, s));
      const grant = new provider.Grant({ accountId: check.principal.partner_id as string, clientId });
      if (granted.length) grant.addResourceScope(opts.audience, granted.join(' '));
      const oidc = requested.filter((s) => PROTOCOL_SCOPES.includes(s));
      if (oidc.length) grant.addOIDCScope(oidc.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: check.principal.partner_id }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    },
  };
}
