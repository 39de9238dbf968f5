import type { StoredEvent } from '@pep/contracts';

/**
 * A type guard for one union of events, by type name. Events are checked against their schema before they
 * are appended and are upcast to the latest version when read, so an event whose type is one of the union's
 * carries that type's data: an `evolve` can take its own union instead of any event and a cast.
 */
export function eventsOfTypes<E extends { type: string }>(types: Iterable<E['type']>): EventGuard<E> {
  const known: ReadonlySet<string> = new Set(types);
  return <X extends { type: string }>(event: X): event is X & E => known.has(event.type);
}

/** Narrows any event (stored or not) to `E` when its type is one of `E`'s. */
export type EventGuard<E extends { type: string }> = <X extends { type: string }>(event: X) => event is X & E;

/** How a read model that keeps one folded state per aggregate reads, folds and writes a batch. */
export interface FoldedReadModel<E extends { type: string }, S> {
  /** The events this read model folds (see `eventsOfTypes`); others are ignored. */
  handles: EventGuard<E>;
  /** The aggregate (row) an event belongs to. */
  idOf: (event: StoredEvent & E) => string;
  /** The current states of these ids (missing ids are new). */
  load: (ids: string[]) => Promise<Iterable<readonly [string, S]>>;
  /** The aggregate's own fold: the same function the command side decides on. */
  evolve: (state: S | undefined, event: StoredEvent & E) => S | undefined;
  /** Writes the folded states back (an upsert). */
  save: (states: S[]) => Promise<void>;
}

/**
 * Load → fold → upsert for a batch: the rows the batch touches are loaded once, the events folded in memory in
 * stream order, and every state that exists afterwards written back, all inside the projection's transaction.
 * Returns the events it folded, for a read model that also keeps per-event rows.
 */
export async function foldBatch<E extends { type: string }, S>(
  events: readonly StoredEvent[],
  model: FoldedReadModel<E, S>,
): Promise<(StoredEvent & E)[]> {
  const relevant = events.filter(model.handles);
  if (relevant.length === 0) return relevant;
  const ids = [...new Set(relevant.map(model.idOf))];
  const states = new Map<string, S | undefined>(await model.load(ids));
  for (const e of relevant) {
    const id = model.idOf(e);
    states.set(id, model.evolve(states.get(id), e));
  }
  const out = [...states.values()].filter((s): s is S => s !== undefined);
  if (out.length > 0) await model.save(out);
  return relevant;
}
