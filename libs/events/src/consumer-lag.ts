import type { EventBus } from './connection.ts';

/**
 * The durable consumers this process reads (workers, the dispatcher's intake), so its metrics can report
 * each one's lag from JetStream's own consumer info (`num_pending`: not yet delivered; `num_ack_pending`:
 * delivered, not yet acknowledged).
 */
const durables = new Map<string, EventBus>();

export function trackDurable(bus: EventBus, durable: string): void {
  durables.set(durable, bus);
}

export interface DurableLag {
  durable: string;
  pending: number;
  ackPending: number;
}

/** One consumer-info call per tracked durable; a durable that cannot be read now is left out (and logged). */
export async function durableLags(onError: (durable: string, err: unknown) => void): Promise<DurableLag[]> {
  const out: DurableLag[] = [];
  await Promise.all(
    [...durables].map(async ([durable, bus]) => {
      try {
        const info = await bus.jsm.consumers.info(bus.stream, durable);
        out.push({ durable, pending: info.num_pending, ackPending: info.num_ack_pending });
      } catch (err) {
        onError(durable, err);
      }
    }),
  );
  return out;
}
