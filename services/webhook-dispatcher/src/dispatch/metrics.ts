import type { Logger, Metrics } from '@pep/runtime';
import type { BreakerState } from './circuit-breaker.ts';

const INTAKE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** What the gauges read when scraped. */
export interface DispatchGaugeSources {
  circuits: () => Iterable<{ endpointId: string; state: BreakerState }>;
  held: () => number;
  inFlight: () => number;
  /** Deliveries waiting for an attempt in Postgres (all replicas). */
  pending: () => Promise<number>;
  /** Events the consumer has not read or acked yet. */
  consumerLag: () => Promise<number>;
}

export type DispatchMetrics = ReturnType<typeof createDispatchMetrics>;

/** The dispatcher's Prometheus metrics (names and labels are part of the operators' dashboards). */
export function createDispatchMetrics(metrics: Metrics, logger: Logger, src: DispatchGaugeSources) {
  const errors = metrics.counter(
    'webhook_dispatcher_errors_total',
    'Failures the dispatcher recovered from (logged), by where they happened',
    ['where'],
  );
  /** A failure that is handled here (logged at warn and counted), not thrown. */
  const recovered = (where: string, message: string, fields: Record<string, unknown> = {}) => {
    errors.inc({ where });
    logger.warn(message, fields);
  };
  const circuit = metrics.gauge(
    'webhook_circuit_state',
    'Circuit state per endpoint (0 closed, 1 half-open, 2 open)',
    ['endpoint_id'],
    () => {
      for (const c of src.circuits())
        circuit.set({ endpoint_id: c.endpointId }, c.state === 'closed' ? 0 : c.state === 'half_open' ? 1 : 2);
    },
  );
  /** A gauge read from an engine when scraped: -1 (logged, counted) when the engine does not answer. */
  const engineGauge = (name: string, help: string, read: () => Promise<number>, what: string) => {
    const g = metrics.gauge(name, help, [], async () => {
      try {
        g.set(await read());
      } catch (err) {
        recovered('metrics', `${what} failed`, { err });
        g.set(-1);
      }
    });
  };
  engineGauge('webhook_pending_deliveries', 'Deliveries waiting for an attempt (all replicas)', src.pending, 'counting pending deliveries');
  const held = metrics.gauge(
    'webhook_held_deliveries',
    'Deliveries this process took straight from the stream and has not recorded yet (their messages are unacked)',
    [],
    () => {
      held.set(src.held());
    },
  );
  engineGauge(
    'webhook_consumer_lag',
    'Events in the stream the dispatcher consumer has not read yet',
    src.consumerLag,
    'reading the consumer lag',
  );
  const inFlight = metrics.gauge('webhook_attempts_in_flight', 'Attempts in flight in this process', [], () => {
    inFlight.set(src.inFlight());
  });
  return {
    recovered,
    deliveries: metrics.counter('webhook_deliveries_total', 'Webhook attempts by outcome', ['outcome']),
    latency: metrics.histogram(
      'webhook_attempt_duration_seconds',
      'Latency of webhook attempts',
      ['outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15],
    ),
    dispatchDelay: metrics.histogram(
      'webhook_dispatch_delay_seconds',
      'From an event stored in the stream to the start of its first attempt (deliveries sent straight from the stream)',
      [],
      INTAKE_BUCKETS,
    ),
    intake: metrics.histogram(
      'webhook_intake_stage_seconds',
      'Intake, per batch (its oldest event): stored in the stream → received by this process (stage=consumer), → batch started (stage=queued), → handed to the lanes (stage=handoff)',
      ['stage'],
      INTAKE_BUCKETS,
    ),
  };
}
