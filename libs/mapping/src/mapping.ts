import jsonata from 'jsonata';
import { Bail, fastEvaluator } from './fast-path.ts';

/**
 * Bounds of one evaluation. `maxSteps` bounds its work deterministically (evaluation steps, counted per
 * evaluation: load on the machine cannot make a cheap mapping fail); `timeoutMs` (wall clock, JSONata's own
 * guardrail) is only a backstop, generous because evaluations of concurrent deliveries interleave. Depth is
 * JSONata's guardrail too; `maxSequence` caps every sequence JSONata builds; `maxString`/`maxArray` cap every
 * intermediate result (checked when each step exits), and `maxOutputBytes` the serialized payload — together
 * they bound memory.
 */
export interface MappingLimits {
  maxSteps: number;
  timeoutMs: number;
  maxDepth: number;
  maxSequence: number;
  maxString: number;
  maxArray: number;
  maxOutputBytes: number;
}

export const MAPPING_LIMITS: MappingLimits = {
  maxSteps: 100_000,
  timeoutMs: 1000,
  maxDepth: 200,
  maxSequence: 10_000,
  maxString: 100_000,
  maxArray: 10_000,
  maxOutputBytes: 256 * 1024,
};

/** The longest expression accepted (characters). */
export const MAX_EXPRESSION_LENGTH = 10_000;

/** The expression does not compile, or uses what mappings may not (regular expressions, `$eval`). */
export class MappingCompileError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly position: number | null,
    readonly token: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MappingCompileError';
  }
}

/** What an expression sees: `$` is the event's `data`; `$event` its envelope attributes (nothing else). */
export interface MappingEventInput {
  id: string;
  type: string;
  time: string;
  source?: string;
  subject?: string;
  data: unknown;
}

export interface MappingFailure {
  /** timeout, depth, size (a result or the output over its bound), empty (no result), runtime (any other). */
  class: 'timeout' | 'depth' | 'size' | 'empty' | 'runtime';
  code: string;
  message: string;
  position: number | null;
}

/** A success carries the payload serialized (`JSON.parse(body)` for the value): the hot path needs only bytes. */
export type MappingEvaluation = { ok: true; body: string } | { ok: false; error: MappingFailure };

export interface CompiledMapping {
  readonly expression: string;
  /** Whether the expression has a synchronous evaluator (fast-path.ts) in front of JSONata. */
  readonly fast: boolean;
  /** Evaluates against one event; never throws (a failure is a value). */
  evaluate(event: MappingEventInput): Promise<MappingEvaluation>;
}

interface JsonataErrorLike {
  code?: string;
  message?: string;
  position?: number;
  token?: string;
}

interface AstNode {
  type?: string;
  value?: unknown;
  position?: number;
  [k: string]: unknown;
}

/** Refuses regular-expression literals (a catastrophic regex cannot be interrupted) and `$eval` (runtime code). */
function refuseUnsafe(node: unknown, seen = new Set<unknown>()): void {
  if (!node || typeof node !== 'object' || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const n of node) refuseUnsafe(n, seen);
    return;
  }
  const n = node as AstNode;
  if (n.type === 'regex' || n.type === 'regexp') {
    throw new MappingCompileError('regular expressions are not allowed in mappings', 'M0001', n.position ?? null, String(n.value ?? ''));
  }
  if (n.type === 'variable' && n.value === 'eval') {
    throw new MappingCompileError('$eval is not allowed in mappings', 'M0002', n.position ?? null, '$eval');
  }
  for (const v of Object.values(n)) if (v && typeof v === 'object') refuseUnsafe(v, seen);
}

class MappingLimitError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly cls: 'timeout' | 'size' = 'size',
  ) {
    super(message);
  }
}

/** Where an evaluation keeps its step count: on JSONata's per-evaluation base frame (every frame links to it). */
const STEPS = Symbol('pep.mapping.steps');
type Frame = { base?: { [STEPS]?: number } };

function failure(err: unknown): MappingFailure {
  if (err instanceof MappingLimitError) return { class: err.cls, code: err.code, message: err.message, position: null };
  if (err instanceof RangeError) return { class: 'size', code: 'M1003', message: err.message, position: null };
  const e = (err ?? {}) as JsonataErrorLike;
  const code = e.code ?? 'M1000';
  const cls: MappingFailure['class'] =
    code === 'D1012' ? 'timeout' : code === 'D1011' ? 'depth' : code === 'D2014' || code === 'D2015' ? 'size' : 'runtime';
  return {
    class: cls,
    code,
    message: String(e.message ?? err).slice(0, 500),
    position: typeof e.position === 'number' ? e.position : null,
  };
}

/**
 * Compiles a mapping expression once (per mapping version) with its bounds. Throws MappingCompileError naming
 * the JSONata error code, message and character position.
 */
export function compileMapping(expression: string, limits: MappingLimits = MAPPING_LIMITS): CompiledMapping {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new MappingCompileError(
      `the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`,
      'M0003',
      MAX_EXPRESSION_LENGTH,
      null,
    );
  }
  let expr: jsonata.Expression;
  try {
    expr = jsonata(expression, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence });
  } catch (err) {
    const e = err as JsonataErrorLike;
    throw new MappingCompileError(
      String(e.message ?? err),
      e.code ?? 'S0000',
      typeof e.position === 'number' ? e.position : null,
      e.token ?? null,
      {
        cause: err,
      },
    );
  }
  refuseUnsafe(expr.ast());
  const exit = (_expr: unknown, _input: unknown, _env: unknown, result: unknown) => {
    if (typeof result === 'string' && result.length > limits.maxString) {
      throw new MappingLimitError('M1001', `a string result exceeds ${limits.maxString} characters`);
    }
    if (Array.isArray(result) && result.length > limits.maxArray) {
      throw new MappingLimitError('M1002', `an array result exceeds ${limits.maxArray} items`);
    }
  };
  const entry = (_expr: unknown, _input: unknown, env: Frame) => {
    const base = env.base;
    if (!base) return;
    const steps = (base[STEPS] ?? 0) + 1;
    base[STEPS] = steps;
    if (steps > limits.maxSteps) throw new MappingLimitError('M1007', `the evaluation exceeded ${limits.maxSteps} steps`, 'timeout');
  };
  const assign = expr.assign as (name: string | symbol, value: unknown) => void;
  assign(Symbol.for('jsonata.__evaluate_entry'), entry);
  assign(Symbol.for('jsonata.__evaluate_exit'), exit);
  const fast = fastEvaluator(expr.ast(), limits);
  return {
    expression,
    fast: fast !== null,
    async evaluate(event) {
      let payload: unknown;
      const env = { id: event.id, type: event.type, time: event.time, source: event.source, subject: event.subject };
      let done = false;
      if (fast) {
        try {
          payload = fast(event.data, { event: env });
          done = true;
        } catch (err) {
          if (!(err instanceof Bail)) return { ok: false, error: failure(err) };
          // a bail: JSONata answers below
        }
      }
      if (!done) {
        try {
          payload = await expr.evaluate(event.data, { event: env });
        } catch (err) {
          return { ok: false, error: failure(err) };
        }
      }
      if (payload === undefined) {
        return {
          ok: false,
          error: { class: 'empty', code: 'M1004', message: 'the mapping produced no result for this event', position: null },
        };
      }
      let body: string | undefined;
      try {
        body = JSON.stringify(payload);
      } catch (err) {
        return { ok: false, error: failure(err) };
      }
      if (body === undefined) {
        return {
          ok: false,
          error: { class: 'empty', code: 'M1005', message: 'the mapping produced a function, not data', position: null },
        };
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when the length alone cannot tell.
      if (body.length * 3 > limits.maxOutputBytes && Buffer.byteLength(body) > limits.maxOutputBytes) {
        return {
          ok: false,
          error: { class: 'size', code: 'M1003', message: `the mapped payload exceeds ${limits.maxOutputBytes} bytes`, position: null },
        };
      }
      return { ok: true, body };
    },
  };
}

/**
 * The mapping that applies to an event type: an exact entry, else the longest matching `<prefix>.*`, else `*`.
 */
export function resolveMapping<M>(
  mappings: ReadonlyMap<string, M> | Record<string, M>,
  eventType: string,
): { key: string; mapping: M } | undefined {
  const get = (k: string): M | undefined => (mappings instanceof Map ? mappings.get(k) : (mappings as Record<string, M>)[k]);
  const exact = get(eventType);
  if (exact !== undefined) return { key: eventType, mapping: exact };
  const parts = eventType.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const key = `${parts.slice(0, i).join('.')}.*`;
    const m = get(key);
    if (m !== undefined) return { key, mapping: m };
  }
  const any = get('*');
  return any === undefined ? undefined : { key: '*', mapping: any };
}
