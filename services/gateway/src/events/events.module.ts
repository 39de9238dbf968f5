import type { HttpMethod } from '@pep/contracts';
import type { EventBus } from '@pep/events';
import { UnavailableError } from '@pep/runtime';
import { Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config.ts';
import { type HttpResult, JSON_TYPE, problemResult } from '../http/http-result.ts';
import { jsonBodyForHash, type PipelineRoute, type RequestContext, RequestPipeline } from '../http/request-pipeline.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { BUS, CONFIG, METRICS } from '../tokens.ts';
import { type DecodedIngest, decodeIngestRequest } from './cloudevents-http.ts';
import { JetStreamPublisher } from './jetstream-publisher.ts';
import { EVENTS_BODY_LIMIT, type PreparedEvent, prepareEvents } from './prepare-events.ts';

export const PUBLISH_EVENTS_ROUTE: PipelineRoute = {
  operationId: 'publishEvents',
  method: 'POST' satisfies HttpMethod,
  path: '/v1/events',
  scope: 'write:events',
};

/**
 * `POST /v1/events`: the ingest hot path, registered directly on Fastify. Reads the body in any content mode of
 * the CloudEvents HTTP binding (binary, structured, batched, or plain `application/json`), validates every event
 * of the request first, then publishes them all concurrently (pipelined JetStream acks) with dedupe, and answers
 * 202 with each event's stream sequence.
 */
@Module({})
export class EventsModule implements OnModuleInit, OnApplicationShutdown {
  private readonly publisher: JetStreamPublisher;

  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(RequestPipeline) private readonly pipeline: RequestPipeline,
    @Inject(RouteRegistry) private readonly registry: RouteRegistry,
    @Inject(BUS) bus: EventBus,
    @Inject(CONFIG) private readonly cfg: GatewayConfig,
    @Inject(METRICS) private readonly metrics: GatewayMetrics,
  ) {
    this.publisher = new JetStreamPublisher(bus.nc, cfg.GATEWAY_PUBLISH_TIMEOUT_MS);
  }

  /** Runs after the HTTP server has closed, so no request still waits for an ack. */
  onApplicationShutdown(): void {
    this.publisher.stop();
  }

  onModuleInit(): void {
    this.publisher.start();
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    const route = PUBLISH_EVENTS_ROUTE;
    this.registry.add(route.method, route.path);
    // Fastify's own JSON parser (prototype-poisoning checks included), called on the text once the mode is known.
    const defaultJson = app.getDefaultJsonParser('error', 'ignore');
    const parseJson = (text: string): unknown => {
      let out: unknown;
      let failure: unknown;
      defaultJson(undefined as unknown as FastifyRequest, text, (err, value) => {
        failure = err;
        out = value;
      });
      if (failure) throw failure;
      return out;
    };
    // Its own scope takes every body as text: the content mode, not the Content-Type alone, says how to read it.
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.route({
        method: route.method,
        url: route.path,
        bodyLimit: EVENTS_BODY_LIMIT,
        // Unreadable bodies are refused before authentication, as malformed JSON always was.
        preValidation: (req, _reply, done) => {
          try {
            req.body = decodeIngestRequest(req.headers, req.body as string | undefined, parseJson);
            done();
          } catch (err) {
            done(err as Error);
          }
        },
        handler: (req, reply) => {
          const decoded = req.body as DecodedIngest;
          return this.pipeline.handle(
            req,
            reply,
            route,
            (ctx) => this.ingest(decoded, ctx),
            () => jsonBodyForHash(decoded.body),
          );
        },
      });
    });
  }

  private async ingest({ mode, body }: DecodedIngest, ctx: RequestContext): Promise<HttpResult> {
    if (!ctx.principal) throw new Error('publishEvents is not public');
    const prepared = prepareEvents(body, {
      principal: ctx.principal,
      subjectPrefix: this.cfg.SUBJECT_PREFIX,
      traceparent: ctx.traceparent,
      now: new Date(),
      mode,
    });
    if (!prepared.ok) {
      this.metrics.eventsRejected.inc(Array.isArray(body) ? body.length : 1);
      return problemResult(prepared.problem);
    }
    const data = await this.publish(prepared.events);
    return { status: 202, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify({ data }) };
  }

  private async publish(events: PreparedEvent[]) {
    try {
      const results =
        events.length === 1
          ? [await this.publisher.publish(events[0]!.subject, events[0]!.event, events[0]!.dedupeKey)]
          : await Promise.all(events.map((e) => this.publisher.publish(e.subject, e.event, e.dedupeKey)));
      let duplicates = 0;
      for (const r of results) if (r.duplicate) duplicates++;
      if (results.length > duplicates) this.metrics.eventsPublished.inc({ duplicate: 'false' }, results.length - duplicates);
      if (duplicates > 0) this.metrics.eventsPublished.inc({ duplicate: 'true' }, duplicates);
      return results;
    } catch (err) {
      // Some events of a batch may be stored already; retrying the same request is safe (dedupe by id).
      throw new UnavailableError(
        'the event store did not acknowledge the events; retry the request (it is safe: events are deduplicated by id)',
        {
          cause: err,
        },
      );
    }
  }
}
