import type { Principal } from '@pep/contracts';
import { Injectable } from '@nestjs/common';
import type { HttpResult } from './http-result.ts';

/** What a gateway-answered route gets: the validated input and the request's principal. */
export interface LocalInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  principal: Principal;
  requestId: string;
}
export type LocalHandler = (input: LocalInput) => Promise<HttpResult>;

/**
 * Handlers of the route table's `service: 'gateway'` routes (the gateway owns their data, e.g. OAuth grants):
 * the module that owns the data adds them by operationId; RoutesModule runs them after the pipeline and the
 * contract's validation instead of forwarding over NATS.
 */
@Injectable()
export class LocalRoutes {
  private readonly handlers = new Map<string, LocalHandler>();

  add(operationId: string, handler: LocalHandler): void {
    if (this.handlers.has(operationId)) throw new Error(`gateway route ${operationId} handled twice`);
    this.handlers.set(operationId, handler);
  }

  get(operationId: string): LocalHandler | undefined {
    return this.handlers.get(operationId);
  }
}
