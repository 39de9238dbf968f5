import { OpenRevertRequestSchema } from '@pep/contracts';
import { AppError, type Logger, NotFoundError, parseOrThrow } from '@pep/runtime';
import { handler, ok, type RpcHandler } from '@pep/service';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { WebhookIngress } from '../app/ingress.ts';
import type { Reverts } from '../app/reverts.ts';
import type { BridgeDB } from '../db/schema.ts';
import { RevertFailedError } from '../github/revert.ts';
import { listRepositoryInsights, repositoryInsights } from '../projections/insights/index.ts';

/** A revert that cannot be opened: 422 when it never can (not merged, conflict), 503 when it may later (rate limit). */
class RevertProblem extends AppError {
  readonly problemType = 'revert-failed';
  readonly title = 'The revert pull request could not be opened';
  constructor(
    readonly status: number,
    message: string,
    reason: string,
    cause: unknown,
  ) {
    super(message, { extensions: { reason }, cause });
  }
}

export interface BridgeHandlerDeps {
  db: Kysely<BridgeDB>;
  logger: Logger;
  ingress: WebhookIngress;
  reverts: Reverts;
  now: () => Date;
}

const RawBody = z.object({ raw_base64: z.string(), content_type: z.string().optional() });
const RepoParams = z.object({ owner: z.string().min(1), repo: z.string().min(1) });
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), starting_after: z.string().optional() });

export function bridgeHandlers(deps: BridgeHandlerDeps): Record<string, RpcHandler> {
  const h = (fn: RpcHandler) => handler(deps.logger, fn);
  return {
    /** GitHub App webhook ingress (raw route): answered 202 once the delivery is kept in the stream. */
    'webhooks.receive': h(async (req) => {
      const body = parseOrThrow(RawBody, req.body);
      const raw = Buffer.from(body.raw_base64, 'base64').toString('utf8');
      return ok(await deps.ingress.receive({ raw, headers: req.headers ?? {}, traceparent: req.traceparent }), 202);
    }),

    /** Opens (or finds) the revert pull request of an incident; the rollback orchestrator asks for it. */
    'reverts.open': h(async (req) => {
      const r = parseOrThrow(OpenRevertRequestSchema, req.body);
      try {
        const result = await deps.reverts.open(r);
        return ok(result, result.created ? 201 : 200);
      } catch (err) {
        if (err instanceof RevertFailedError) {
          const transient = err.reason === 'rate_limited' || err.reason === 'github_error';
          throw new RevertProblem(transient ? 503 : 422, err.message, err.reason, err);
        }
        throw err;
      }
    }),

    'insights.get': h(async (req) => {
      const p = parseOrThrow(RepoParams, req.params);
      const r = await repositoryInsights(deps.db, { repository: `${p.owner}/${p.repo}` }, deps.now());
      if (!r) throw new NotFoundError(`no insights for ${p.owner}/${p.repo}`);
      return ok(r);
    }),

    'insights.list': h(async (req) => ok(await listRepositoryInsights(deps.db, parseOrThrow(ListQuery, req.query ?? {}), deps.now()))),
  };
}
