import { createHmac, timingSafeEqual } from 'node:crypto';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE } from '@pep/contracts';

/**
 * The portal session cookie and its CSRF token (OWASP session management and CSRF cheat sheets):
 * - the cookie holds the session secret (32 random bytes; the registry keeps only its SHA-256), `HttpOnly`,
 *   `SameSite=Lax`, `Path=/`, and `Secure` with the `__Host-` prefix everywhere except plain-http loopback
 *   development (a browser refuses `Secure` cookies over http);
 * - the CSRF token is an HMAC of a fixed label keyed by the session secret: only whoever holds the secret can
 *   make it, a cross-site page cannot read it, it needs no storage, and every gateway replica computes the same
 *   one (a synchronizer token bound to the session). A cookie-authenticated state-changing request must send it in
 *   `X-CSRF-Token`, and its `Origin` (or `Referer`) must be the gateway's own.
 */
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?$/i;
const SESSION_SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface CookieRequest {
  protocol: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Whether this request's cookie must be `Secure` (and `__Host-`): everything but http on loopback. */
export function secureCookies(req: CookieRequest, mode: 'auto' | 'always' | 'never'): boolean {
  if (mode !== 'auto') return mode === 'always';
  const host = String(req.headers.host ?? '');
  return !(req.protocol === 'http' && LOOPBACK_HOST.test(host));
}

export const cookieName = (secure: boolean) => (secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

/** The value of one cookie in a `Cookie` header (the first one of that name). */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session secret of the request's cookie, when it has a well-formed one. */
export function sessionSecretOf(req: CookieRequest, secure: boolean): string | undefined {
  const value = readCookie(req.headers.cookie, cookieName(secure));
  return value && SESSION_SECRET.test(value) ? value : undefined;
}

export function sessionCookie(secret: string, secure: boolean, maxAgeSeconds: number): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`];
  if (secure) attrs.push('Secure');
  return `${cookieName(secure)}=${secret}; ${attrs.join('; ')}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${cookieName(secure)}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

export function csrfTokenFor(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('pep-csrf-v1').digest('base64url');
}

export function csrfTokenValid(sessionSecret: string, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(sessionSecret));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The origin a request says it comes from: `Origin`, else the origin of `Referer`; undefined when neither. */
export function requestOrigin(req: CookieRequest): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return origin;
  const referer = req.headers.referer;
  if (typeof referer !== 'string') return undefined;
  return URL.canParse(referer) ? new URL(referer).origin : undefined;
}

/** The gateway's own origin for this request: the configured public URL's, else scheme and Host as received. */
export function ownOrigin(req: CookieRequest, publicUrl: string | undefined): string {
  if (publicUrl) return new URL(publicUrl).origin;
  return `${req.protocol}://${String(req.headers.host ?? '')}`;
}
