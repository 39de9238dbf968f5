import { IDENTITY_RPC, type Principal, type RpcReply } from '@pep/contracts';
import type { Logger } from '@pep/runtime';

/** The gateway's own identity when it tells the registry about key usage. */
export const GATEWAY_PRINCIPAL: Principal = Object.freeze({ kind: 'admin', scopes: ['admin'], credential_id: 'gateway' }) as Principal;

/**
 * Last-used times of API keys, recorded in batches: each request only updates a Map entry; every
 * `flushMs` the entries are sent to the registry in one request (which appends `api_key.used` at most about
 * once a minute per key). A failed flush keeps the entries for the next one.
 */
export function createUsageRecorder(opts: {
  send: (pattern: string, body: unknown, principal: Principal) => Promise<RpcReply>;
  logger: Logger;
  flushMs: number;
}) {
  let pending = new Map<string, number>();
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const entries = [...batch].map(([api_key_id, t]) => ({ api_key_id, used_at: new Date(t).toISOString() }));
    try {
      const reply = await opts.send(IDENTITY_RPC.recordKeyUsage, { entries }, GATEWAY_PRINCIPAL);
      if (!reply.ok) throw new Error(reply.problem.detail ?? reply.problem.title);
    } catch (err) {
      opts.logger.warn('key usage flush failed; kept for the next one', { keys: batch.size, err });
      for (const [id, t] of batch) if ((pending.get(id) ?? 0) < t) pending.set(id, t);
    }
  };
  const timer = setInterval(() => {
    if (!flushing) flushing = flush().finally(() => (flushing = undefined));
  }, opts.flushMs);
  timer.unref();
  return {
    record(apiKeyId: string, at: number) {
      if ((pending.get(apiKeyId) ?? 0) < at) pending.set(apiKeyId, at);
    },
    pendingCount: () => pending.size,
    flush,
    async stop() {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}
export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
