import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module.ts';
import { CoreModule, type GatewayResources } from './core.module.ts';
import { EventsModule } from './events/events.module.ts';
import { HttpModule } from './http/http.module.ts';
import { IdempotencyModule } from './idempotency/idempotency.module.ts';
import { IdentityModule } from './identity/identity.module.ts';
import { OAuthModule } from './oauth/oauth.module.ts';
import { OpsModule } from './ops/ops.module.ts';
import { PortalModule } from './portal/portal.module.ts';
import { RateLimitModule } from './rate-limit/rate-limit.module.ts';
import { RoutesModule } from './routing/routes.module.ts';
import { UsageModule } from './usage/usage.module.ts';

/**
 * The gateway's module list, in one place. Add a module with one line: an auth strategy module registers
 * itself with AuthService; a module that serves routes registers them in `onModuleInit` (or with Nest
 * controllers) and records them in RouteRegistry.
 */
// biome-ignore format: one module per line, so adding one is a one-line change
const modules = [
  UsageModule,
  HttpModule,
  AuthModule,
  IdentityModule,
  OAuthModule,
  RateLimitModule,
  IdempotencyModule,
  OpsModule,
  EventsModule,
  RoutesModule,
  PortalModule,
];

@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory
export class AppModule {
  static register(resources: GatewayResources): DynamicModule {
    return { module: AppModule, imports: [CoreModule.forRoot(resources), ...modules] };
  }
}
