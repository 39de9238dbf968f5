import { Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ProblemFilter } from './problem.filter.ts';
import { RequestPipeline } from './request-pipeline.ts';
import { RouteRegistry } from './route-registry.ts';

/** The request pipeline every route uses, the registry of served routes, and the problem+json error filter. */
@Global()
@Module({
  providers: [RouteRegistry, RequestPipeline, { provide: APP_FILTER, useClass: ProblemFilter }],
  exports: [RouteRegistry, RequestPipeline],
})
export class HttpModule {}
