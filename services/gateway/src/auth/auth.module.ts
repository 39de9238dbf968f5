import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import type { GatewayConfig } from '../config.ts';
import { CONFIG } from '../tokens.ts';
import { AdminKeyStrategy } from './admin-key.strategy.ts';
import { AuthService } from './auth.service.ts';

/**
 * Authentication: the AuthService and the admin-key strategy. Other strategies live in their own modules
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
  ],
  exports: [AuthService],
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
