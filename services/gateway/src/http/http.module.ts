import { Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LocalRoutes } from './local-routes.ts';
import { ProblemFilter } from './problem.filter.ts';
import { RequestPipeline } from './request-pipeline.ts';
import { RouteRegistry } from './route-registry.ts';

/** The request pipeline every route uses, the registry of served routes, and the problem+json error filter. */
@Global()
@Module({
  providers: [RouteRegistry, RequestPipeline, LocalRoutes, { provide: APP_FILTER, useClass: ProblemFilter }],
  exports: [RouteRegistry, RequestPipeline, LocalRoutes],
})
export class HttpModule {}
