import { headerTraceparent } from '@pep/events';
import { startBoundarySpan, tracingEnabled } from '@pep/runtime';
import type { JsMsg } from '@nats-io/jetstream';

/**
 * The dispatcher's CONSUMER span for one event it takes in (a child of the producer's span in the message
 * header). The event's `traceparent` becomes this span, so every attempt made for it later (from memory or
 * from its stored row) is a child of the intake. A no-op while tracing is off.
 */
export function traceIntake<E extends { id: string; type: string; traceparent?: string }>(durable: string, m: JsMsg, ev: E): E {
  if (!tracingEnabled()) return ev;
  const span = startBoundarySpan(`process ${ev.type}`, 'consumer', headerTraceparent(m) ?? ev.traceparent, {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': durable,
    'messaging.message.id': ev.id,
    'messaging.destination.name': m.subject,
    'event.seq': m.seq,
  });
  if (!span) return ev;
  span.end();
  ev.traceparent = span.traceparent;
  return ev;
}
