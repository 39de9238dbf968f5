import { z } from 'zod';

/**
 * Roles of portal users and the scopes each one carries: the one place that decides what a role may see and do.
 * A portal session becomes a principal with exactly these scopes, checked by the gateway like an API key's, so
 * the portal can never do more than the public API allows that role.
 *
 * - `owner`: everything within the partner (the `admin` scope of the tenant), and the only role that may make or
 *   remove owners.
 * - `admin`: everything within the partner except owner changes.
 * - `developer`: integration work (keys, OAuth clients, applications, webhooks, events, integrations); no billing.
 * - `billing`: invoices, payouts, usage and plans; it does not manage endpoints or keys.
 * - `platform_admin`: a platform operator (no partner); its sessions are admin principals.
 */
export const PARTNER_ROLES = ['owner', 'admin', 'developer', 'billing'] as const;
export const USER_ROLES = [...PARTNER_ROLES, 'platform_admin'] as const;
export type PartnerRole = (typeof PARTNER_ROLES)[number];
export type UserRole = (typeof USER_ROLES)[number];
export const PartnerRoleSchema = z.enum(PARTNER_ROLES);
export const UserRoleSchema = z.enum(USER_ROLES);

/** Every signed-in user may manage their own account (sessions, sign-out); API keys do not carry it. */
export const ACCOUNT_SCOPE = 'manage:account';

export const ROLE_SCOPES: Readonly<Record<UserRole, readonly string[]>> = Object.freeze({
  owner: ['admin', ACCOUNT_SCOPE],
  admin: ['manage:*'],
  developer: [
    ACCOUNT_SCOPE,
    'read:partners',
    'read:team',
    'manage:api_keys',
    'manage:oauth_clients',
    'write:applications',
    'write:webhooks',
    'write:events',
    'write:integrations',
    'read:incidents',
    'write:rollback',
    'write:marketplace',
    'write:support',
  ],
  billing: [ACCOUNT_SCOPE, 'read:partners', 'read:team', 'write:billing', 'write:support', 'read:marketplace'],
  platform_admin: ['admin', ACCOUNT_SCOPE],
});

/** The scopes a portal session of this role carries. */
export function scopesForRole(role: UserRole): string[] {
  return [...ROLE_SCOPES[role]];
}
