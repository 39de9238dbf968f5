import { loadConfig } from '@pep/runtime';
import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import type { GatewayConfig } from '../config.ts';
import { CONFIG, RPC_CLIENT } from '../tokens.ts';
import { SessionAuthenticator, sessionConfigSchema } from './session-authenticator.ts';
import { AdminKeyStrategy } from './admin-key.strategy.ts';
import { AuthService } from './auth.service.ts';

/**
 * Authentication: the AuthService, the admin-key strategy and portal sessions (cookie + CSRF). Other strategies live in their own modules
 * (`api-key.strategy.ts`, `jwt.strategy.ts`) and call `AuthService.register` from `onModuleInit`.
 */
@Global()
@Module({
  providers: [
    AuthService,
    {
      provide: AdminKeyStrategy,
      inject: [CONFIG],
      useFactory: (cfg: GatewayConfig) => {
        if (!cfg.PLATFORM_ADMIN_API_KEY) throw new Error('PLATFORM_ADMIN_API_KEY is not set');
        return new AdminKeyStrategy(cfg.PLATFORM_ADMIN_API_KEY);
      },
    },
    {
      provide: SessionAuthenticator,
      inject: [CONFIG, RPC_CLIENT],
      useFactory: (cfg: GatewayConfig, client: ClientNats) =>
        new SessionAuthenticator(client, {
          rpcPrefix: cfg.RPC_PREFIX,
          publicUrl: cfg.GATEWAY_PUBLIC_URL,
          secure: loadConfig(sessionConfigSchema).SESSION_COOKIE_SECURE,
          timeoutMs: cfg.RPC_TIMEOUT_MS,
        }),
    },
  ],
  exports: [AuthService, SessionAuthenticator],
})
export class AuthModule implements OnModuleInit {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(AdminKeyStrategy) private readonly adminKey: AdminKeyStrategy,
  ) {}

  onModuleInit(): void {
    this.auth.register(this.adminKey);
  }
}
