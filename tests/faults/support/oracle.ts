// The oracle of a fault test: the stream read whole and folded, and the webhook receipts counted (split from
// stack.ts).
import type { StoredEvent } from '@pep/contracts';
import { decodeEvent, type EventBus } from '@pep/events';
import { waitUntil } from '@pep/testing';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Receipt } from './stack.ts';

/** One stored message: its sequence, subject, when the server stored it (ms since epoch) and the event. */
export interface StreamEntry {
  seq: number;
  subject: string;
  storedAt: number;
  event: StoredEvent;
}

/**
 * Every event in the stream, decoded (the oracle). The whole read is retried (bounded) until it reaches the
 * stream's last sequence: just after a fault (a cluster electing leaders) a consumer create may time out.
 */
export async function readStream(bus: EventBus): Promise<StreamEntry[]> {
  return waitUntil(
    async () => {
      const last = (await bus.jsm.streams.info(bus.stream)).state.last_seq;
      const out: StreamEntry[] = [];
      if (last === 0) return out;
      const consumer = await bus.js.consumers.get(bus.stream, { deliver_policy: DeliverPolicy.All });
      while ((out.at(-1)?.seq ?? 0) < last) {
        const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          out.push({ seq: m.seq, subject: m.subject, storedAt: Math.floor(m.info.timestampNanos / 1e6), event: decodeEvent(m) });
        }
        if (got === 0) throw new Error(`the stream read stopped at ${out.at(-1)?.seq ?? 0} of ${last}`);
      }
      return out;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'the whole stream to be read' },
  );
}

/** What the stream says should be true: the fold the projections are compared with. */
export function foldStream(events: { seq: number; event: StoredEvent }[], partnerId: string, leadPrefix = '') {
  const leads = new Map<string, number[]>();
  let partnerName: string | undefined;
  const keys = new Map<string, 'active' | 'revoked'>();
  const toggles = new Set<string>();
  for (const { seq, event: e } of events) {
    const data = (e.data ?? {}) as Record<string, unknown>;
    if (e.type === 'lead.created' && e.partnerid === partnerId && e.id.startsWith(leadPrefix))
      leads.set(e.id, [...(leads.get(e.id) ?? []), seq]);
    if ((e.type === 'partner.created' || e.type === 'partner.updated') && data.partner_id === partnerId && typeof data.name === 'string') {
      partnerName = data.name;
    }
    if (e.type === 'api_key.created' && data.partner_id === partnerId) keys.set(String(data.api_key_id), 'active');
    if (e.type === 'api_key.revoked' && data.partner_id === partnerId) keys.set(String(data.api_key_id), 'revoked');
    if (e.type === 'rollback.completed' && typeof data.incident_id === 'string') toggles.add(data.incident_id);
  }
  return { leads, partnerName, keys, completedRollbacks: toggles };
}

/** Webhook receipts grouped: per event id the distinct webhook-ids, and per webhook-id how often it arrived. */
export function countReceipts(receipts: Receipt[], eventIdPrefix: string, type = 'lead.created') {
  const byEvent = new Map<string, Set<string>>();
  const byWebhookId = new Map<string, number>();
  for (const r of receipts) {
    if (r.type !== type || !r.eventId.startsWith(eventIdPrefix)) continue;
    byEvent.set(r.eventId, (byEvent.get(r.eventId) ?? new Set()).add(r.webhookId));
    byWebhookId.set(r.webhookId, (byWebhookId.get(r.webhookId) ?? 0) + 1);
  }
  return {
    byEvent,
    /** Events delivered under more than one webhook-id: two deliveries of one event to one endpoint. */
    doubled: [...byEvent].filter(([, ids]) => ids.size > 1).map(([id]) => id),
    /** The same webhook-id received again (an at-least-once repeat the receiver can drop). */
    repeats: [...byWebhookId.values()].reduce((n, c) => n + (c - 1), 0),
  };
}
