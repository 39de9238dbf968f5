import type { Principal } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { GatewayConfig } from '../config.ts';
import type { GatewayDB } from '../db/schema.ts';
import { type HttpResult, problem, problemResult } from '../http/http-result.ts';
import { CONFIG, DB, LOGGER } from '../tokens.ts';
import { decideIdempotency, idempotencyScope, isStorable, storableHeaders } from './idempotency-decision.ts';
import { type AcquireInput, IdempotencyStore } from './idempotency.store.ts';

export interface IdempotentRequest {
  principal: Principal;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

/**
 * Runs a request under an `Idempotency-Key`: the first request with a key runs and its answer is kept for
 * `IDEMPOTENCY_TTL_HOURS`; the same key with the same request replays it (`Idempotent-Replayed: true`); the same
 * key with another request is refused (422 `idempotency-key-reuse`); while the first still runs, 409.
 * 5xx answers are not kept, so the client can retry with the same key.
 */
@Injectable()
export class IdempotencyService implements OnModuleInit, OnApplicationShutdown {
  private readonly store: IdempotencyStore;
  private readonly ttlMs: number;
  private readonly lockTimeoutMs: number;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DB) db: Kysely<GatewayDB>,
    @Inject(CONFIG) cfg: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.store = new IdempotencyStore(db);
    this.ttlMs = cfg.IDEMPOTENCY_TTL_HOURS * 3600_000;
    this.lockTimeoutMs = cfg.IDEMPOTENCY_LOCK_TIMEOUT_S * 1000;
  }

  onModuleInit(): void {
    const purge = () =>
      void this.store.purgeExpired(new Date()).then(
        (n) => n > 0 && this.logger.debug('expired idempotency keys purged', { count: n }),
        (err) => this.logger.warn('idempotency purge failed', { err }),
      );
    this.purgeTimer = setInterval(purge, 10 * 60_000);
    this.purgeTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
  }

  async run(req: IdempotentRequest, execute: () => Promise<HttpResult>): Promise<HttpResult> {
    const now = new Date();
    const input: AcquireInput = {
      scope: idempotencyScope(req.principal),
      key: req.key,
      requestHash: req.requestHash,
      method: req.method,
      path: req.path,
      now,
      expiresAt: new Date(now.getTime() + this.ttlMs),
    };
    let owned = false;
    for (let attempt = 0; attempt < 3 && !owned; attempt++) {
      if (await this.store.tryInsert(input)) {
        owned = true;
        break;
      }
      const stored = await this.store.get(input);
      if (!stored) continue; // released between our insert and read: try again
      const decision = decideIdempotency(stored, req.requestHash, now, this.lockTimeoutMs);
      switch (decision.kind) {
        case 'replay':
          return { ...decision.result, headers: { ...decision.result.headers, 'idempotent-replayed': 'true' } };
        case 'mismatch':
          return problemResult(
            problem(
              422,
              'idempotency-key-reuse',
              'Idempotency-Key reused with a different request',
              'this Idempotency-Key was already used with a different method, path or body; use a new key for a new request',
            ),
          );
        case 'in_flight':
          return problemResult(
            problem(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key is in progress', 'retry once it has finished'),
          );
        case 'execute':
          owned = await this.store.takeOver(input, this.lockTimeoutMs);
          break;
        default: {
          const never: never = decision;
          throw new Error(`unhandled decision ${String(never)}`);
        }
      }
    }
    if (!owned) {
      return problemResult(
        problem(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key is in progress', 'retry once it has finished'),
      );
    }
    let result: HttpResult;
    try {
      result = await execute();
    } catch (err) {
      await this.store.release(input).catch((e) => this.logger.warn('idempotency release failed', { err: e }));
      throw err;
    }
    if (isStorable(result)) {
      await this.store.complete(input, { ...result, headers: storableHeaders(result.headers) });
    } else {
      await this.store.release(input).catch((e) => this.logger.warn('idempotency release failed', { err: e }));
    }
    return result;
  }
}
