import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createDb, ensureDatabase, migrateToLatest } from '@pep/db';
import {
  closeBus,
  type EventBus,
  ensureStream,
  isConnectionError,
  registerStreamMetrics,
  StreamSettingsSchema,
  watchConnection,
} from '@pep/events';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ConfigError, createLogger, databaseUrl, type Logger, onShutdown, startTelemetry } from '@pep/runtime';
import { ClientNats } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppModule } from './app.module.ts';
import { type GatewayConfig, loadGatewayConfig } from './config.ts';
import type { GatewayResources } from './core.module.ts';
import { migrations } from './db/migrations/index.ts';
import type { GatewayDB } from './db/schema.ts';
import { problem, problemResult, sendResult } from './http/http-result.ts';
import { createGatewayMetrics } from './ops/gateway-metrics.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function line(level: string, msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: 'gateway', msg, ...fields })}\n`);
}

/** Development convenience: no admin key configured (and not production) → make one and print it once. */
function withAdminKey(config: GatewayConfig): GatewayConfig {
  if (config.PLATFORM_ADMIN_API_KEY) return config;
  const key = `sk_admin_${randomBytes(24).toString('base64url')}`;
  line('warn', 'PLATFORM_ADMIN_API_KEY is not set: generated an admin API key for this run (shown only now)', { admin_api_key: key });
  return { ...config, PLATFORM_ADMIN_API_KEY: key };
}

/**
 * The event bus, like @pep/events' connectBus but without async stack traces: nats.js otherwise builds two
 * Error objects (stack captured) for every JetStream publish, which was the largest single cost of ingest.
 */
async function connectIngestBus(config: GatewayConfig, logger: Logger): Promise<EventBus> {
  const nc = await connect({
    servers: config.NATS_URL.split(','),
    name: 'gateway',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
  watchConnection(nc, logger);
  return {
    nc,
    js: jetstream(nc, { timeout: 10_000 }),
    jsm: await jetstreamManager(nc),
    stream: config.STREAM_NAME,
    prefix: config.SUBJECT_PREFIX,
  };
}

/** Start-up waits for an engine that is away (retrying, saying so) rather than exiting; a real error still stops it. */
async function untilReachable<T>(what: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (what === 'migrations' && !isConnectionError(err)) throw err;
      const delay = Math.min(500 * 2 ** (attempt - 1), 5000);
      logger.warn(`${what} not ready at start-up, retrying`, { attempt, retry_in_ms: delay, err: (err as Error).message });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function main(): Promise<void> {
  const startupLogger = createLogger('gateway', 'info');
  process.on('unhandledRejection', (err) => startupLogger.error('unhandled rejection (the gateway keeps running)', { err }));
  const config = withAdminKey(loadGatewayConfig());
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const shutdown = onShutdown(logger, { exit: (code) => process.exit(code) });
  const telemetry = await startTelemetry('gateway');

  const url = databaseUrl(config, 'gateway');
  await untilReachable('postgres', logger, () => ensureDatabase(url));
  // Once running, Postgres may come and go: the pool reports lost connections and reconnects on the next query.
  const metrics = createGatewayMetrics();
  const db = createDb<GatewayDB>(url, {
    max: config.DB_POOL_SIZE,
    onError: (err) => {
      metrics.dbPoolErrors.inc();
      logger.warn('postgres connection lost (the pool reconnects on the next query)', { err: err.message });
    },
  });
  const applied = await untilReachable('migrations', logger, () => migrateToLatest(db, migrations));
  registerStreamMetrics(metrics.base, { logger, db });
  if (applied.length) logger.info('migrations applied', { applied });

  const bus = await connectIngestBus(config, logger);
  await untilReachable('the stream', logger, () => ensureStream(bus.jsm, StreamSettingsSchema.parse(config)));
  const rpc = new ClientNats({ servers: config.NATS_URL.split(','), name: 'gateway-rpc', maxReconnectAttempts: -1 } as never);
  await rpc.connect();

  const resources: GatewayResources = { config, logger, metrics, bus, db, rpc };
  const idPrefix = `req_${randomBytes(4).toString('hex')}`;
  let requestCount = 0;
  const adapter = new FastifyAdapter({
    bodyLimit: config.GATEWAY_BODY_LIMIT,
    // While closing, the hook below answers 503 problem+json with Retry-After instead of Fastify's bare 503.
    return503OnClosing: false,
    // The router refuses a malformed URL (400) or an over-long parameter (414) before any hook runs.
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const path = (req.url ?? '/').split('?')[0];
      const detail = error.code === 'FST_ERR_BAD_URL' ? 'the URL is malformed (bad percent-encoding?)' : error.message;
      sendResult(
        reply,
        problemResult({ ...problem(status, 'bad-request', 'Bad request', detail), instance: path }, { 'x-request-id': String(req.id) }),
      );
    },
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${idPrefix}${(++requestCount).toString(36)}`;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(resources), adapter, {
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: a text/plain body is refused with 415 instead of reaching validation as a string.
  fastify.removeContentTypeParser('text/plain');
  // Shutting down: new requests (on kept-alive connections) get a 503 problem with Retry-After, like every 503.
  let closing = false;
  fastify.addHook('onRequest', (req, reply, done) => {
    if (!closing) return done();
    const p = problem(503, 'unavailable', 'Temporarily unavailable', 'the gateway is shutting down; retry', { retry_after: 1 });
    sendResult(
      reply.header('connection', 'close'),
      problemResult({ ...p, instance: (req.url ?? '/').split('?')[0] }, { 'x-request-id': String(req.id) }),
    );
  });
  fastify.addContentTypeParser(
    ['application/cloudevents+json', 'application/cloudevents-batch+json'],
    { parseAs: 'string' },
    fastify.getDefaultJsonParser('error', 'ignore'),
  );

  await app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.GATEWAY_PORT;
  const listening = `http://${config.GATEWAY_HOST.includes(':') ? `[${config.GATEWAY_HOST}]` : config.GATEWAY_HOST}:${port}`;

  // Stop taking requests and finish the in-flight ones (their publishes are awaited), then close connections.
  shutdown.add('http', () => {
    closing = true;
    return app.close();
  });
  shutdown.add('nats-rpc', () => rpc.close());
  shutdown.add('nats', () => closeBus(bus));
  shutdown.add('postgres', () => db.destroy());
  shutdown.add('telemetry', () => telemetry.shutdown());
  line('info', 'gateway listening', { url: listening, stream: config.STREAM_NAME, rpc_prefix: config.RPC_PREFIX });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`gateway: ${err.message}\n`);
  } else {
    line('error', 'gateway failed to start', {
      err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
    });
  }
  process.exit(1);
});
