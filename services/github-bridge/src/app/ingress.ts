import { isStorableJson, STORABLE_TEXT_MESSAGE } from '@pep/contracts';
import { aggregateSubject, type EventBus, publishEvent } from '@pep/events';
import { BadRequestError, type Logger, UnauthorizedError, ValidationError } from '@pep/runtime';
import type { Webhooks } from '@octokit/webhooks';
import type { Kysely } from 'kysely';
import type { BridgeDB } from '../db/schema.ts';
import { envelope } from './events.ts';

export interface IngressDeps {
  db: Kysely<BridgeDB>;
  bus: EventBus;
  logger: Logger;
  webhooks: Webhooks;
  now: () => Date;
  /** Counts signature checks that threw (a malformed signature header, not a mismatch); the delivery is refused. */
  onVerifyError: () => void;
}

/** A GitHub App webhook as the gateway forwards a raw route: the bytes and the lower-cased headers. */
export interface WebhookDelivery {
  raw: string;
  headers: Record<string, string>;
  traceparent?: string | undefined;
}

/**
 * GitHub App webhook ingress: verify X-Hub-Signature-256 over the raw bytes, dedupe on X-GitHub-Delivery,
 * keep the delivery in the stream (`github.webhook.received`); translation continues in the translator worker.
 */
export function createWebhookIngress(deps: IngressDeps) {
  async function verified(raw: string, signature: string, delivery: string): Promise<boolean> {
    try {
      return await deps.webhooks.verify(raw, signature);
    } catch (err) {
      deps.onVerifyError();
      deps.logger.warn('webhook signature could not be checked; the delivery is refused', { delivery_id: delivery, err });
      return false;
    }
  }

  function parsePayload(raw: string): Record<string, unknown> {
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch (err) {
      throw new BadRequestError('the payload is not JSON', { cause: err });
    }
    // A raw route: the gateway cannot check the body, so storable text is checked here (nothing downstream could keep it).
    if (!isStorableJson(payload)) throw new ValidationError([{ path: 'payload', message: STORABLE_TEXT_MESSAGE }]);
    return payload as Record<string, unknown>;
  }

  return {
    async receive(d: WebhookDelivery): Promise<{ delivery_id: string; duplicate: boolean }> {
      const signature = d.headers['x-hub-signature-256'];
      const event = d.headers['x-github-event'];
      const delivery = d.headers['x-github-delivery'];
      if (!signature) throw new UnauthorizedError('X-Hub-Signature-256 is missing');
      if (!event || !delivery) throw new BadRequestError('X-GitHub-Event and X-GitHub-Delivery are required');
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(delivery)) throw new BadRequestError('X-GitHub-Delivery is not a delivery id');
      if (!(await verified(d.raw, signature, delivery))) throw new UnauthorizedError('X-Hub-Signature-256 does not match the payload');
      const payload = parsePayload(d.raw);
      const inserted = await deps.db
        .insertInto('deliveries')
        .values({ delivery_id: delivery, event, status: 'received' })
        .onConflict((oc) => oc.column('delivery_id').doNothing())
        .returning('delivery_id')
        .executeTakeFirst();
      if (!inserted) {
        const prior = await deps.db.selectFrom('deliveries').select('status').where('delivery_id', '=', delivery).executeTakeFirst();
        if (prior?.status === 'published') return { delivery_id: delivery, duplicate: true };
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
        d.traceparent ? { traceparent: d.traceparent } : {},
      );
      try {
        await publishEvent(deps.bus, aggregateSubject(deps.bus.prefix, 'github_delivery', delivery), ev);
      } catch (err) {
        if (inserted) await deps.db.deleteFrom('deliveries').where('delivery_id', '=', delivery).execute();
        throw err;
      }
      await deps.db.updateTable('deliveries').set({ status: 'published' }).where('delivery_id', '=', delivery).execute();
      return { delivery_id: delivery, duplicate: !inserted };
    },
  };
}
export type WebhookIngress = ReturnType<typeof createWebhookIngress>;
