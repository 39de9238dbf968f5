import { describe, expect, it } from 'vitest';
import {
  clearedSessionCookie,
  csrfTokenFor,
  csrfTokenValid,
  ownOrigin,
  readCookie,
  requestOrigin,
  secureCookies,
  sessionCookie,
  sessionSecretOf,
} from '../src/auth/session-cookie.ts';

const secret = 'A'.repeat(43);
const req = (protocol: string, host: string, extra: Record<string, string> = {}) => ({ protocol, headers: { host, ...extra } });

describe('portal session cookie', () => {
  it('is Secure with the __Host- prefix everywhere except plain http on loopback', () => {
    expect(secureCookies(req('http', '127.0.0.1:8080'), 'auto')).toBe(false);
    expect(secureCookies(req('http', 'localhost:3000'), 'auto')).toBe(false);
    expect(secureCookies(req('http', '[::1]:80'), 'auto')).toBe(false);
    expect(secureCookies(req('https', '127.0.0.1:8443'), 'auto')).toBe(true);
    expect(secureCookies(req('http', 'portal.example.com'), 'auto')).toBe(true);
    expect(secureCookies(req('http', '127.0.0.1'), 'always')).toBe(true);
    expect(sessionCookie(secret, true, 3600)).toBe(`__Host-pep_session=${secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure`);
    expect(clearedSessionCookie(true)).toBe('__Host-pep_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure');
  });

  it('reads only a well-formed secret from the cookie of the mode in force', () => {
    expect(readCookie('a=1; pep_session=xyz; b=2', 'pep_session')).toBe('xyz');
    expect(sessionSecretOf(req('https', 'p.example', { cookie: `__Host-pep_session=${secret}` }), true)).toBe(secret);
    // A non-prefixed cookie (settable by a sibling subdomain) is not read when cookies are Secure.
    expect(sessionSecretOf(req('https', 'p.example', { cookie: `pep_session=${secret}` }), true)).toBeUndefined();
    expect(sessionSecretOf(req('http', '127.0.0.1', { cookie: 'pep_session=short' }), false)).toBeUndefined();
  });

  it('derives the CSRF token from the session secret and compares it in constant time', () => {
    const token = csrfTokenFor(secret);
    expect(csrfTokenValid(secret, token)).toBe(true);
    expect(csrfTokenValid('B'.repeat(43), token)).toBe(false);
    expect(csrfTokenValid(secret, undefined)).toBe(false);
    expect(csrfTokenValid(secret, `${token}x`)).toBe(false);
  });

  it('takes the request origin from Origin, else Referer; the own origin from the public URL or the Host', () => {
    expect(requestOrigin(req('http', 'h', { origin: 'https://a.example' }))).toBe('https://a.example');
    expect(requestOrigin(req('http', 'h', { referer: 'https://b.example/portal/keys?x=1' }))).toBe('https://b.example');
    expect(requestOrigin(req('http', 'h', { origin: 'null' }))).toBeUndefined();
    expect(requestOrigin(req('http', 'h', { referer: 'not a url' }))).toBeUndefined();
    expect(ownOrigin(req('http', '127.0.0.1:8080'), undefined)).toBe('http://127.0.0.1:8080');
    expect(ownOrigin(req('http', '127.0.0.1:8080'), 'https://api.example.com/base')).toBe('https://api.example.com');
  });
});
