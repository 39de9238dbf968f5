import { assertPublicUrl, parseAllowlist, type SsrfPolicy } from '@pep/webhooks';
import type { UrlVerdict } from '../domain/application/security-validation.ts';

/**
 * SSRF verdicts for the URLs an application will have the platform call (webhook, health), using the
 * shared rules of @pep/webhooks (`assertPublicUrl`: resolves DNS, refuses private/reserved addresses).
 */
export function createUrlSafety(config: { SSRF_ALLOW: string; ALLOW_HTTP_URLS: boolean }) {
  const policy: SsrfPolicy = { allow: parseAllowlist(config.SSRF_ALLOW), httpsOnly: !config.ALLOW_HTTP_URLS };
  return {
    policy,
    async verdicts(urls: (string | null | undefined)[]): Promise<Record<string, UrlVerdict>> {
      const out: Record<string, UrlVerdict> = {};
      for (const u of urls) {
        if (!u || out[u]) continue;
        try {
          await assertPublicUrl(u, policy);
          out[u] = { ok: true };
        } catch (err) {
          out[u] = { ok: false, reason: (err as Error).message };
        }
      }
      return out;
    },
  };
}
export type UrlSafety = ReturnType<typeof createUrlSafety>;
