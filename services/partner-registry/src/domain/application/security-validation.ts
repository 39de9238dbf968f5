import { type PartnerTier, scopeFitsTier, type SecurityValidation, type ValidationCheck } from '@pep/contracts';

/** Outcome of the SSRF check of one URL (done by the caller, which resolves DNS). */
export type UrlVerdict = { ok: true } | { ok: false; reason: string };

export interface ValidationInput {
  redirect_uris: string[];
  scopes: string[];
  webhook_url: string | null;
  health_url: string | null;
  privacy_url: string | null;
  terms_url: string | null;
}

const parse = (u: string): URL | undefined => URL.parse(u) ?? undefined;

function check(name: ValidationCheck['check'], failures: string[], okMessage: string): ValidationCheck {
  return failures.length === 0
    ? { check: name, passed: true, message: okMessage }
    : { check: name, passed: false, message: failures.join('; ') };
}

/**
 * The automated security validation run on submit. Pure: the SSRF verdicts of the webhook and health URLs
 * (which need DNS) are looked up through `verdictOf`; a URL without a verdict fails as "not checked".
 */
export function securityValidation(
  app: ValidationInput,
  tier: PartnerTier,
  verdictOf: (url: string) => UrlVerdict | undefined,
  now: Date,
  opts: { allowHttp?: boolean } = {},
): SecurityValidation {
  const https = (u: URL) => u.protocol === 'https:' || (opts.allowHttp === true && u.protocol === 'http:');

  const notHttps = app.redirect_uris.filter((u) => parse(u)?.protocol !== 'https:').map((u) => `${u} is not an https URL`);
  const seen = new Set<string>();
  const inexact: string[] = [];
  for (const u of app.redirect_uris) {
    const p = parse(u);
    if (u.includes('*')) inexact.push(`${u} contains a wildcard`);
    else if (p?.hash) inexact.push(`${u} has a fragment`);
    else if (seen.has(u)) inexact.push(`${u} is listed twice`);
    seen.add(u);
  }
  const tooWide = app.scopes.filter((s) => !scopeFitsTier(s, tier)).map((s) => `${s} exceeds the ${tier} tier`);

  const publicUrl = (value: string | null, what: string): string[] => {
    if (value === null) return [];
    const p = parse(value);
    if (!p) return [`${what} is not a valid URL`];
    if (!https(p)) return [`${what} must use https`];
    const v = verdictOf(value);
    if (!v) return [`${what} was not checked`];
    return v.ok ? [] : [`${what} is not allowed: ${v.reason}`];
  };
  const present = (value: string | null, what: string): string[] => {
    if (value === null || value === '') return [`${what} is required`];
    const p = parse(value);
    if (!p || (p.protocol !== 'https:' && p.protocol !== 'http:')) return [`${what} must be an absolute http(s) URL`];
    return [];
  };

  const checks: ValidationCheck[] = [
    check('redirect_uris_https', notHttps, 'every redirect URI uses https'),
    check('redirect_uris_exact', inexact, 'redirect URIs are exact (no wildcards, fragments or duplicates)'),
    check('scopes_fit_tier', tooWide, `requested scopes fit the ${tier} tier`),
    check('webhook_url_public', publicUrl(app.webhook_url, 'webhook_url'), app.webhook_url ? 'webhook URL is public' : 'no webhook URL'),
    check('health_url_public', publicUrl(app.health_url, 'health_url'), app.health_url ? 'health URL is public' : 'no health URL'),
    check('privacy_url_present', present(app.privacy_url, 'privacy_url'), 'privacy policy URL present'),
    check('terms_url_present', present(app.terms_url, 'terms_url'), 'terms of service URL present'),
  ];
  return { passed: checks.every((c) => c.passed), checks, validated_at: now.toISOString(), partner_tier: tier };
}
