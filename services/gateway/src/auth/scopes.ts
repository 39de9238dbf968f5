/**
 * Scope matching for the gateway's route check. A scope is `:`-separated (`read:partners`, `write:webhooks`,
 * `admin`), as contracts/identity describes them:
 * - `admin` grants every scope; the required scope `admin` is granted only by `admin`;
 * - verbs nest: `manage:x` grants `write:x`, which grants `read:x`;
 * - a `*` segment matches any one segment, and a trailing `*` any non-empty rest (`read:*` grants
 *   `read:partners` and `read:partners:keys`; `*` grants everything but `admin`).
 */
export function scopeAllows(granted: readonly string[], required: string | undefined): boolean {
  if (granted.includes('admin')) return true;
  if (!required) return true;
  if (required === 'admin') return false;
  const want = required.split(':');
  for (const g of granted) if (matches(g.split(':'), want)) return true;
  return false;
}

const VERB_RANK: Record<string, number> = { read: 1, write: 2, manage: 3 };

function segmentMatches(pattern: string, value: string, index: number): boolean {
  if (pattern === '*' || pattern === value) return true;
  if (index !== 0) return false;
  const have = VERB_RANK[pattern];
  const need = VERB_RANK[value];
  return have !== undefined && need !== undefined && have >= need;
}

function matches(pattern: string[], want: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '*' && i === pattern.length - 1) return want.length > i;
    const w = want[i];
    if (w === undefined || !segmentMatches(p, w, i)) return false;
  }
  return pattern.length === want.length;
}
