import client from 'prom-client';

/** One Prometheus registry per process, with the default Node metrics and a `service` label. */
export function createMetrics(service: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
      return new client.Counter<L>({ name, help, labelNames, registers: [registry] });
    },
    gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: () => void | Promise<void>) {
      return new client.Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        ...(collect ? { collect } : {}),
      });
    },
    histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]) {
      return new client.Histogram<L>({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
