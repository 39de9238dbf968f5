import { z } from 'zod';
import { safeText } from '../common/text.ts';

/**
 * Scopes of partner credentials (API keys and OAuth tokens):
 *   `read:<resource>`, `write:<resource>`, `manage:<resource>` with `<resource>` a snake_case resource name
 *   (`partners`, `applications`, `api_keys`, ...) or `*` for every resource; and `admin`, every scope within
 *   the partner's own tenant (it never makes a partner a platform administrator).
 * Verbs nest: `manage` implies `write`, which implies `read`.
 */
export const SCOPE_PATTERN = /^(admin|(read|write|manage):(\*|[a-z][a-z0-9_]*))$/;
export const ScopeSchema = safeText().regex(SCOPE_PATTERN, 'must be "admin" or "<read|write|manage>:<resource|*>"');
export const ScopesSchema = z
  .array(ScopeSchema)
  .min(1)
  .max(50)
  .transform((s) => [...new Set(s)]);

const VERB_RANK: Record<string, number> = { read: 1, write: 2, manage: 3 };

function split(scope: string): [number, string] | null {
  const i = scope.indexOf(':');
  if (i < 0) return null;
  const rank = VERB_RANK[scope.slice(0, i)];
  return rank === undefined ? null : [rank, scope.slice(i + 1)];
}

/** Whether a set of granted scopes allows a required one (`admin` required means only `admin` grants it). */
export function scopeAllows(granted: readonly string[], required: string): boolean {
  if (granted.includes('admin')) return true;
  if (required === 'admin') return false;
  const need = split(required);
  if (!need) return granted.includes(required);
  for (const g of granted) {
    const have = split(g);
    if (!have) continue;
    if (have[0] >= need[0] && (have[1] === '*' || have[1] === need[1])) return true;
  }
  return false;
}

/** The scopes of `requested` that `granted` allows (what a narrower credential may carry). */
export function narrowScopes(requested: readonly string[], granted: readonly string[]): string[] {
  return requested.filter((s) => scopeAllows(granted, s));
}
