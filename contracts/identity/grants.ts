import { z } from 'zod';
import { PlatformId } from '../common/ids.ts';
import { safeText } from '../common/text.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';

/** oidc-provider's grant ids: 43 base64url characters (a nanoid); anything shaped otherwise names no grant. */
export const OAUTH_GRANT_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const OAuthGrantId = () => safeText().regex(OAUTH_GRANT_ID_PATTERN, 'must be a grant id');

export const OAuthGrantSchema = z
  .object({
    id: safeText(),
    object: z.literal('oauth_grant'),
    partner_id: safeText().describe('The partner whose user approved it (the resource owner)'),
    client_id: safeText(),
    application_id: safeText().nullable().describe('The application the client belongs to (null once the client is gone)'),
    application_name: safeText().nullable(),
    scopes: z.array(safeText()).describe('The API scopes granted, plus openid / offline_access when they were asked for'),
    granted_at: safeText(),
    expires_at: safeText().nullable(),
  })
  .meta({ id: 'OAuthGrant' });
export type OAuthGrant = z.output<typeof OAuthGrantSchema>;

/**
 * Routes the gateway answers itself (`service: 'gateway'`): the grants live in its OAuth authorization server.
 * A partner sees and revokes its own grants; another partner's grant is 404.
 */
const gateway = { tag: 'Identity', service: 'gateway' } as const;
export const oauthGrantRoutes = defineRoutes([
  {
    ...gateway,
    operationId: 'listOAuthGrants',
    method: 'GET',
    path: '/v1/oauth/grants',
    summary: 'The OAuth authorizations the partner granted to applications (consent given on the authorization page), newest first',
    pattern: 'oauth-grants.list',
    scope: 'read:oauth_clients',
    query: PageQuerySchema.extend({
      starting_after: OAuthGrantId().optional(),
      partner_id: PlatformId('prt').optional().describe('Admin credentials name the partner'),
    }).strict(),
    success: { status: 200, schema: pageOf(OAuthGrantSchema) },
  },
  {
    ...gateway,
    operationId: 'revokeOAuthGrant',
    method: 'DELETE',
    path: '/v1/oauth/grants/:id',
    summary: 'Revoke a grant: its refresh tokens and codes are deleted and its access tokens stop working at once',
    pattern: 'oauth-grants.revoke',
    scope: 'manage:oauth_clients',
    params: z.object({ id: OAuthGrantId() }),
    success: { status: 200, schema: OAuthGrantSchema },
  },
]);
