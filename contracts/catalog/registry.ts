import { z } from 'zod';
import { EnvelopeSchema, type PlatformEvent } from '../envelope/envelope.ts';

/**
 * The event catalog: every event type with its data schema per version. Old versions keep their schema and
 * an upcaster to the next version, so a consumer always sees the latest shape (`upcast`).
 */
export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  type: T;
  version: number;
  data: S;
  description: string;
  /** Who may append it: `external` events come through the gateway from outside; `domain` events from their owner. */
  origin: 'external' | 'domain';
  /** For domain events, the aggregate kind whose subject the event is appended to. */
  aggregate?: string;
  /** Upcaster from this version's data to the next version's. */
  // A method (bivariant), so a definition widens to EventDefinition: the registry calls it only with this version's data.
  upcast?(data: z.output<S>): unknown;
  /** Category for docs grouping. */
  category: string;
}

const definitions = new Map<string, Map<number, EventDefinition>>();

export function defineEvent<T extends string, S extends z.ZodType>(def: EventDefinition<T, S>): EventDefinition<T, S> {
  let versions = definitions.get(def.type);
  if (!versions) {
    versions = new Map();
    definitions.set(def.type, versions);
  }
  if (versions.has(def.version)) throw new Error(`event ${def.type} v${def.version} defined twice`);
  versions.set(def.version, def);
  return def;
}

export function latestVersion(type: string): number | undefined {
  const versions = definitions.get(type);
  if (!versions) return undefined;
  return Math.max(...versions.keys());
}

export function getDefinition(type: string, version?: number): EventDefinition | undefined {
  const versions = definitions.get(type);
  if (!versions) return undefined;
  return versions.get(version ?? Math.max(...versions.keys()));
}

export function allDefinitions(): EventDefinition[] {
  return [...definitions.values()].flatMap((v) => [...v.values()]).sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version);
}

export function latestDefinitions(): EventDefinition[] {
  return [...definitions.keys()].sort().map((t) => getDefinition(t) as EventDefinition);
}

export class UnknownEventTypeError extends Error {
  constructor(
    readonly type: string,
    readonly version?: number,
  ) {
    super(version === undefined ? `unknown event type "${type}"` : `unknown schema version ${version} of "${type}"`);
    this.name = 'UnknownEventTypeError';
  }
}

/** Reads an event of any known version as the latest version of its type. */
export function upcast<E extends PlatformEvent>(event: E): E {
  let version = event.schemaversion ?? 1;
  let data = event.data;
  const latest = latestVersion(event.type);
  if (latest === undefined) return event;
  while (version < latest) {
    const def = getDefinition(event.type, version);
    if (!def?.upcast) throw new Error(`no upcaster from ${event.type} v${version}`);
    data = def.upcast(data);
    version++;
  }
  return { ...event, data, schemaversion: version };
}

export type ValidateResult = { ok: true; event: PlatformEvent } | { ok: false; issues: { path: string; message: string }[] };

/** Validates a raw envelope against the catalog (by type and schema version). */
export function validateEvent(raw: unknown): ValidateResult {
  const env = EnvelopeSchema.safeParse(raw);
  if (!env.success) {
    return { ok: false, issues: env.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
  }
  const def = getDefinition(env.data.type, env.data.schemaversion);
  if (!def) {
    const known = definitions.has(env.data.type);
    return {
      ok: false,
      issues: [
        known
          ? { path: 'schemaversion', message: `unknown schema version ${env.data.schemaversion} of "${env.data.type}"` }
          : { path: 'type', message: `unknown event type "${env.data.type}"` },
      ],
    };
  }
  const data = def.data.safeParse(env.data.data);
  if (!data.success) {
    return { ok: false, issues: data.error.issues.map((i) => ({ path: ['data', ...i.path.map(String)].join('.'), message: i.message })) };
  }
  return { ok: true, event: { ...env.data, data: data.data } as PlatformEvent };
}

/** Data type of an event definition. */
export type DataOf<D> = D extends EventDefinition<string, infer S> ? z.output<S> : never;
/** The event (envelope + typed data) for an event definition. */
export type EventOf<D> = D extends EventDefinition<infer T, infer S> ? PlatformEvent<T, z.output<S>> : never;
