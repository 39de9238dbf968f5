import { createHash } from 'node:crypto';
import { isStorableJson, OpenRevertRequestSchema, type PlatformEvent, type RpcRequest, STORABLE_TEXT_MESSAGE } from '@pep/contracts';
import { aggregateSubject, type EventBus, newEvent, publishEvent } from '@pep/events';
import { AppError, BadRequestError, type Logger, NotFoundError, parseOrThrow, UnauthorizedError, ValidationError } from '@pep/runtime';
import { handler, ok, type RpcHandler } from '@pep/service';
import type { Webhooks } from '@octokit/webhooks';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { BridgeDB } from '../db/schema.ts';
import type { GithubClient } from '../github/client.ts';
import { openRevert, RevertFailedError } from '../github/revert.ts';
import { repositoryInsights } from '../projections/insights/index.ts';

/** A revert that cannot be opened: 422 when it never can (not merged, conflict), 503 when it may later (rate limit). */
class RevertProblem extends AppError {
  readonly problemType = 'revert-failed';
  readonly title = 'The revert pull request could not be opened';
  constructor(
    readonly status: number,
    message: string,
    reason: string,
  ) {
    super(message, { extensions: { reason } });
  }
}

export interface BridgeHandlerDeps {
  db: Kysely<BridgeDB>;
  bus: EventBus;
  logger: Logger;
  webhooks: Webhooks;
  github: GithubClient;
  revertTimeoutMs: number;
  now: () => Date;
}

export const SOURCE = 'urn:pep:github-bridge';
const id = (...parts: string[]) => `evt_${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;

export function envelope(type: string, eventId: string, data: unknown, time: string, extra: Partial<PlatformEvent> = {}): PlatformEvent {
  return { ...newEvent({ type, data, source: SOURCE, time, id: eventId }), ...extra };
}

const RawBody = z.object({ raw_base64: z.string(), content_type: z.string().optional() });

export function bridgeHandlers(deps: BridgeHandlerDeps): Record<string, RpcHandler> {
  const h = (fn: (req: RpcRequest<any, any, any>) => Promise<ReturnType<typeof ok>>) => handler(deps.logger, fn);
  return {
    /**
     * GitHub App webhook ingress: verify X-Hub-Signature-256 over the raw bytes, dedupe on X-GitHub-Delivery,
     * keep the delivery in the stream (`github.webhook.received`) and answer 202; translation continues in
     * the translator worker.
     */
    'webhooks.receive': h(async (req) => {
      const headers = req.headers ?? {};
      const body = parseOrThrow(RawBody, req.body);
      const signature = headers['x-hub-signature-256'];
      const event = headers['x-github-event'];
      const delivery = headers['x-github-delivery'];
      if (!signature) throw new UnauthorizedError('X-Hub-Signature-256 is missing');
      if (!event || !delivery) throw new BadRequestError('X-GitHub-Event and X-GitHub-Delivery are required');
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(delivery)) throw new BadRequestError('X-GitHub-Delivery is not a delivery id');
      const raw = Buffer.from(body.raw_base64, 'base64').toString('utf8');
      let verified = false;
      try {
        verified = await deps.webhooks.verify(raw, signature);
      } catch {
        verified = false;
      }
      if (!verified) throw new UnauthorizedError('X-Hub-Signature-256 does not match the payload');
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new BadRequestError('the payload is not JSON');
      }
      // A raw route: the gateway cannot check the body, so storable text is checked here (nothing downstream could keep it).
      if (!isStorableJson(payload)) throw new ValidationError([{ path: 'payload', message: STORABLE_TEXT_MESSAGE }]);
      const inserted = await deps.db
        .insertInto('deliveries')
        .values({ delivery_id: delivery, event, status: 'received' })
        .onConflict((oc) => oc.column('delivery_id').doNothing())
        .returning('delivery_id')
        .executeTakeFirst();
      if (!inserted) {
        const prior = await deps.db.selectFrom('deliveries').select('status').where('delivery_id', '=', delivery).executeTakeFirst();
        if (prior?.status === 'published') return ok({ delivery_id: delivery, duplicate: true }, 202);
      }
      const now = deps.now().toISOString();
      const ev = envelope(
        'github.webhook.received',
        `ghd_${delivery}`,
        {
          delivery_id: delivery,
          event,
          action: typeof payload.action === 'string' ? payload.action : null,
          installation_id: (payload.installation as { id?: number } | undefined)?.id ?? null,
          received_at: now,
          payload,
        },
        now,
        req.traceparent ? { traceparent: req.traceparent } : {},
      );
      try {
        await publishEvent(deps.bus, aggregateSubject(deps.bus.prefix, 'github_delivery', delivery), ev);
      } catch (err) {
        if (inserted) await deps.db.deleteFrom('deliveries').where('delivery_id', '=', delivery).execute();
        throw err;
      }
      await deps.db.updateTable('deliveries').set({ status: 'published' }).where('delivery_id', '=', delivery).execute();
      return ok({ delivery_id: delivery, duplicate: !inserted }, 202);
    }),

    /** Opens (or finds) the revert pull request of an incident; the rollback orchestrator asks for it. */
    'reverts.open': h(async (req) => {
      const r = parseOrThrow(OpenRevertRequestSchema, req.body);
      try {
        const { result, repositoryId } = await openRevert(deps.github, r, Date.now() + deps.revertTimeoutMs);
        if (result.created) {
          const at = deps.now().toISOString();
          await publishEvent(
            deps.bus,
            aggregateSubject(deps.bus.prefix, 'github_repo', String(repositoryId)),
            envelope(
              'github.revert.opened',
              id('revert', r.repository.toLowerCase(), String(r.pull_number), r.incident_id),
              {
                repository_id: repositoryId,
                repository: r.repository,
                incident_id: r.incident_id,
                pull_number: r.pull_number,
                revert_number: result.revert_number,
                branch: result.branch,
                url: result.url,
                at,
              },
              at,
              { correlationid: r.incident_id },
            ),
          );
        }
        return ok(result, result.created ? 201 : 200);
      } catch (err) {
        if (err instanceof RevertFailedError) {
          const transient = err.reason === 'rate_limited' || err.reason === 'github_error';
          throw new RevertProblem(transient ? 503 : 422, err.message, err.reason);
        }
        throw err;
      }
    }),

    'insights.get': h(async (req) => {
      const p = parseOrThrow(z.object({ owner: z.string().min(1), repo: z.string().min(1) }), req.params);
      const r = await repositoryInsights(deps.db, { repository: `${p.owner}/${p.repo}` }, deps.now());
      if (!r) throw new NotFoundError(`no insights for ${p.owner}/${p.repo}`);
      return ok(r);
    }),

    'insights.list': h(async (req) => {
      const q = parseOrThrow(
        z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), starting_after: z.string().optional() }),
        req.query ?? {},
      );
      let query = deps.db
        .selectFrom('repo_insights')
        .select(['repository_id', 'repository'])
        .orderBy('repository', 'asc')
        .limit(q.limit + 1);
      if (q.starting_after) query = query.where('repository', '>', q.starting_after);
      const rows = await query.execute();
      const data = await Promise.all(
        rows.slice(0, q.limit).map((r) => repositoryInsights(deps.db, { repositoryId: Number(r.repository_id) }, deps.now())),
      );
      return ok({ data, has_more: rows.length > q.limit });
    }),
  };
}
