import type { StoredEvent } from '@pep/contracts';
import { type BoundarySpan, startBoundarySpan, tracingEnabled, withBoundarySpan } from '@pep/runtime';
import { isTraceparent } from './trace.ts';

/**
 * The event side of the platform's trace: one PRODUCER span per publish or append (its context goes into the
 * message's `traceparent` header), one CONSUMER span per event a projection applies or a worker handles (a
 * child of that header), one INTERNAL span per command. All are no-ops while tracing is off (@pep/runtime).
 */

/** Publishes inside a PRODUCER span; `publish` gets the `traceparent` to put in the message header. */
export function tracedPublish<T>(
  subject: string,
  event: { type: string; id: string; traceparent?: string | undefined },
  publish: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return publish(event.traceparent);
  return withBoundarySpan(
    `publish ${event.type}`,
    'producer',
    event.traceparent,
    {
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': subject,
      'messaging.message.id': event.id,
    },
    publish,
  );
}

/** Runs a command inside an INTERNAL span; `run` gets the `traceparent` its events carry. */
export function tracedCommand<T>(
  kind: string,
  id: string,
  parent: string | undefined,
  run: (traceparent: string | undefined) => Promise<T>,
) {
  return withBoundarySpan(`command ${kind}`, 'internal', parent, { 'aggregate.kind': kind, 'aggregate.id': id }, run);
}

function consumeSpan(consumer: string, event: StoredEvent): BoundarySpan | undefined {
  return startBoundarySpan(`process ${event.type}`, 'consumer', event.traceparent, {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': consumer,
    'messaging.message.id': event.id,
    'messaging.destination.name': event.subject_name,
    'event.seq': event.seq,
  });
}

/** Applies a projection's batch with one CONSUMER span per event (the batch shares one transaction). */
export async function tracedApply(projection: string, events: StoredEvent[], apply: () => Promise<void>): Promise<void> {
  if (!tracingEnabled()) return apply();
  const spans = events.map((e) => consumeSpan(`projection:${projection}`, e));
  try {
    await apply();
    for (const s of spans) s?.end();
  } catch (err) {
    for (const s of spans) s?.end({ error: err });
    throw err;
  }
}

/** Handles one event in a CONSUMER span; the handler sees the event with the span as its `traceparent`. */
export async function tracedHandle<T>(consumer: string, event: StoredEvent, handle: (event: StoredEvent) => Promise<T>): Promise<T> {
  const s = tracingEnabled() ? consumeSpan(consumer, event) : undefined;
  if (!s) return handle(event);
  try {
    const out = await handle({ ...event, traceparent: s.traceparent });
    s.end();
    return out;
  } catch (err) {
    s.end({ error: err });
    throw err;
  }
}

/** The producer's span from the message header, which is newer than the envelope's (the producer's parent). */
export function headerTraceparent(msg: object): string | undefined {
  if (!tracingEnabled()) return undefined;
  const h =
    'headers' in msg
      ? (msg.headers as { get(k: string): string } | undefined)
      : 'header' in msg
        ? (msg.header as { get(k: string): string })
        : undefined;
  const v = h?.get('traceparent');
  return isTraceparent(v) ? v : undefined;
}
