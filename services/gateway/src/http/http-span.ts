import { startBoundarySpan } from '@pep/runtime';
import type { FastifyRequest } from 'fastify';
import { nextTraceparent } from './trace-context.ts';

/**
 * The gateway's SERVER span for one API request, a child of the partner's `traceparent` (a new trace when
 * there is none). While tracing is off only the `traceparent` for the next hop is made (no span object).
 */
export function httpServerSpan(req: FastifyRequest, route: { method: string; path: string; operationId: string }) {
  const incoming = req.headers.traceparent;
  const span = startBoundarySpan(`${route.method} ${route.path}`, 'server', typeof incoming === 'string' ? incoming : undefined, {
    'http.request.method': route.method,
    'http.route': route.path,
    'url.path': (req.url ?? '/').split('?')[0] ?? '/',
    'operation.id': route.operationId,
  });
  return {
    traceparent: span?.traceparent ?? nextTraceparent(incoming),
    end: (status: number) => span?.end({ status }),
  };
}
