import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, loadConfig } from '@pep/runtime';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { problem, problemResult, sendResult } from '../http/http-result.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import { LOGGER } from '../tokens.ts';

/**
 * Where the built portal is: services/portal/dist, seen from this module run from its sources
 * (services/gateway/src/portal) or compiled ahead of time (dist/services/gateway/src/portal).
 */
function defaultPortalDist(): string {
  const candidates = ['../../../portal/dist', '../../../../../services/portal/dist'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory()) ?? (candidates[0] as string);
}

export const portalConfigSchema = z.object({
  /** The built portal (services/portal: `pnpm --filter @pep/portal build`). */
  PORTAL_DIST: z.string().default(defaultPortalDist()),
});

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The portal's own scripts and styles only; it talks to this origin's /v1 API and nothing else. */
export const PORTAL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PORTAL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Serves the partner portal (a single-page app) under `/portal`: its built files with a CSP, and `index.html` for
 * every other path below it (the app routes itself). Fingerprinted assets are cached for a year; the page never is.
 */
@Module({})
export class PortalModule implements OnModuleInit {
  private readonly root: string;
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(RouteRegistry) private readonly registry: RouteRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.root = resolve(loadConfig(portalConfigSchema).PORTAL_DIST);
  }

  onModuleInit(): void {
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    for (const path of ['/portal', '/portal/*']) {
      this.registry.add('GET', path);
      app.get(path, (req, reply) => this.serve(req, reply));
    }
  }

  private async serve(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const path = decodeURIComponent((req.url.split('?')[0] ?? '').replace(/^\/portal\/?/, ''));
    const file = normalize(join(this.root, path));
    const inside = file === this.root || file.startsWith(this.root + sep);
    const asset = inside && path !== '' && statSync(file, { throwIfNoEntry: false })?.isFile() === true;
    const target = asset ? file : join(this.root, 'index.html');
    let body: Buffer;
    try {
      body = await readFile(target);
    } catch (err) {
      this.logger.warn('the portal is not built', { dist: this.root, err: (err as Error).message });
      const p = problem(404, 'not-found', 'Not found', 'the portal is not built here (pnpm --filter @pep/portal build)');
      return sendResult(reply, problemResult({ ...p, instance: '/portal' }));
    }
    const immutable = asset && path.startsWith('assets/');
    return reply
      .code(200)
      .headers({
        ...SECURITY_HEADERS,
        'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      })
      .send(body);
  }
}
