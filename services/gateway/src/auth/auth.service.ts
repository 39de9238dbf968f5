import type { Principal } from '@pep/contracts';
import { UnauthorizedError } from '@pep/runtime';
import { Injectable } from '@nestjs/common';
import type { AuthStrategy } from './auth-strategy.ts';

export const WWW_AUTHENTICATE = 'Bearer realm="platform"';
export const WWW_AUTHENTICATE_INVALID = 'Bearer realm="platform", error="invalid_token"';

export class MissingCredentialError extends UnauthorizedError {}

/**
 * Turns `Authorization: Bearer <credential>` into a Principal by asking each registered strategy in order.
 * Strategies register themselves (`register`) from their module's `onModuleInit`, so adding one (partner API
 * keys, OAuth access tokens) is one module in `app.module.ts`.
 */
@Injectable()
export class AuthService {
  private strategies: AuthStrategy[] = [];

  register(strategy: AuthStrategy): void {
    if (this.strategies.some((s) => s.name === strategy.name)) throw new Error(`auth strategy ${strategy.name} registered twice`);
    this.strategies = [...this.strategies, strategy].sort((a, b) => a.order - b.order);
  }

  registered(): readonly string[] {
    return this.strategies.map((s) => s.name);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const credential = bearerCredential(authorization);
    for (const strategy of this.strategies) {
      const found = strategy.authenticate(credential);
      const principal = found instanceof Promise ? await found : found;
      if (principal) return principal;
    }
    throw new UnauthorizedError('the credential is not valid');
  }
}

/** The credential of an `Authorization: Bearer ...` header; throws MissingCredentialError when there is none. */
export function bearerCredential(authorization: string | undefined): string {
  if (!authorization) throw new MissingCredentialError('an `Authorization: Bearer <api key>` header is required');
  const space = authorization.indexOf(' ');
  const scheme = space > 0 ? authorization.slice(0, space) : authorization;
  const credential = space > 0 ? authorization.slice(space + 1).trim() : '';
  if (scheme.toLowerCase() !== 'bearer' || credential === '') {
    throw new MissingCredentialError('the Authorization header must use the Bearer scheme: `Authorization: Bearer <api key>`');
  }
  return credential;
}

export function wwwAuthenticateFor(err: UnauthorizedError): string {
  return err instanceof MissingCredentialError ? WWW_AUTHENTICATE : WWW_AUTHENTICATE_INVALID;
}
