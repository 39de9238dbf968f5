/**
 * A synchronous evaluator for the common subset of mapping expressions: object constructors with literal keys,
 * field paths (`a.b.c`, `$event.type`, `$`), literals, string concatenation (`&`) and `$uppercase`, `$lowercase`,
 * `$count` of one argument. It exists because JSONata 2 evaluates asynchronously (a promise per step), which is a
 * visible share of a delivery; this subset is evaluated in a few microseconds instead. It gives JSONata's result or
 * bails out (`Bail`) whenever the data leaves the ground where the two are known to agree (an array along a path or
 * as the context, a number or an object in `&`, a non-string in `$uppercase`, a result over the string or array
 * bounds, ...): the caller then evaluates with JSONata, so a bail costs only the attempt. Expressions outside the
 * subset get no fast evaluator at all. `libs/mapping/test/fast-path.unit.spec.ts` checks it against JSONata.
 */

/** The fast path cannot answer this evaluation the way JSONata would: evaluate with JSONata. */
export class Bail extends Error {
  constructor() {
    super('outside the fast path');
    this.name = 'Bail';
  }
}
const BAIL = new Bail();

type Env = Record<string, unknown>;
type Fn = (data: unknown, env: Env) => unknown;

interface Node {
  type?: unknown;
  value?: unknown;
  lhs?: unknown;
  rhs?: unknown;
  steps?: unknown;
  arguments?: unknown;
  procedure?: unknown;
}

/** The node properties the subset understands; any other (predicates, grouping, focus, ...) means no fast path. */
const KNOWN = new Set(['type', 'value', 'position', 'lhs', 'rhs', 'steps', 'arguments', 'procedure']);

const isNode = (n: unknown): n is Node =>
  typeof n === 'object' &&
  n !== null &&
  !Array.isArray(n) &&
  Object.entries(n).every(([k, v]) => KNOWN.has(k) || v === undefined || v === false);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value a path may hand back as JSONata does: no arrays of arrays (JSONata flattens those), within bounds. */
function checked(v: unknown, maxArray: number, maxString: number): unknown {
  if (Array.isArray(v)) {
    if (v.length > maxArray || v.some(Array.isArray)) throw BAIL;
    return v;
  }
  if (typeof v === 'string' && v.length > maxString) throw BAIL;
  if (typeof v === 'number' && !Number.isFinite(v)) throw BAIL;
  return v;
}

function compilePath(steps: unknown[], bounds: { maxArray: number; maxString: number }): Fn | null {
  const names: string[] = [];
  let fromEvent = false;
  for (const [i, step] of steps.entries()) {
    if (!isNode(step) || typeof step.value !== 'string') return null;
    if (step.type === 'variable' && i === 0 && step.value === 'event') fromEvent = true;
    else if (step.type === 'name') names.push(step.value);
    else return null;
  }
  if (names.length === 0 && !fromEvent) return null;
  return (data, env) => {
    let cur: unknown = fromEvent ? env.event : data;
    for (const name of names) {
      if (Array.isArray(cur)) throw BAIL; // JSONata maps a path over an array
      if (!isPlainObject(cur)) return undefined;
      cur = Object.hasOwn(cur, name) ? cur[name] : undefined;
    }
    if (fromEvent && names.length === 0) throw BAIL; // `$event` alone: an object with undefined fields
    return checked(cur, bounds.maxArray, bounds.maxString);
  };
}

/** The fast evaluator of an expression's AST, or null when the expression is outside the subset. */
export function fastEvaluator(ast: unknown, bounds: { maxArray: number; maxString: number }): Fn | null {
  const build = (n: unknown): Fn | null => {
    if (!isNode(n)) return null;
    switch (n.type) {
      case 'string':
        return typeof n.value === 'string' ? () => n.value : null;
      case 'number':
        return typeof n.value === 'number' && Number.isFinite(n.value) ? () => n.value : null;
      case 'value':
        return n.value === true || n.value === false || n.value === null ? () => n.value : null;
      case 'variable':
        if (n.value !== '') return null;
        return (data) => {
          if (Array.isArray(data)) throw BAIL;
          return checked(data, bounds.maxArray, bounds.maxString);
        };
      case 'path':
        return Array.isArray(n.steps) ? compilePath(n.steps, bounds) : null;
      case 'binary': {
        if (n.value !== '&') return null;
        const l = build(n.lhs);
        const r = build(n.rhs);
        if (!l || !r) return null;
        const str = (v: unknown): string => {
          if (v === undefined) return '';
          if (typeof v === 'string') return v;
          throw BAIL; // JSONata's number formatting and object serialization are not reproduced here
        };
        return (data, env) => {
          const s = str(l(data, env)) + str(r(data, env));
          if (s.length > bounds.maxString) throw BAIL;
          return s;
        };
      }
      case 'function': {
        const proc = n.procedure;
        if (!isNode(proc) || proc.type !== 'variable' || !Array.isArray(n.arguments) || n.arguments.length !== 1) return null;
        const arg = build(n.arguments[0]);
        if (!arg) return null;
        switch (proc.value) {
          case 'uppercase':
          case 'lowercase': {
            const upper = proc.value === 'uppercase';
            return (data, env) => {
              const v = arg(data, env);
              if (v === undefined) return undefined;
              if (typeof v !== 'string') throw BAIL;
              return upper ? v.toUpperCase() : v.toLowerCase();
            };
          }
          case 'count':
            return (data, env) => {
              const v = arg(data, env);
              if (v === undefined) return 0;
              return Array.isArray(v) ? v.length : 1;
            };
          default:
            return null;
        }
      }
      case 'unary': {
        if (n.value !== '{' || !Array.isArray(n.lhs)) return null;
        const pairs: [string, Fn][] = [];
        const keys = new Set<string>();
        for (const pair of n.lhs) {
          if (!Array.isArray(pair) || pair.length !== 2) return null;
          const [k, v] = pair as [unknown, unknown];
          if (!isNode(k) || k.type !== 'string' || typeof k.value !== 'string' || keys.has(k.value)) return null;
          const f = build(v);
          if (!f) return null;
          keys.add(k.value);
          pairs.push([k.value, f]);
        }
        return (data, env) => {
          if (Array.isArray(data)) throw BAIL; // an object constructor over an array groups
          const out: Record<string, unknown> = {};
          for (const [k, f] of pairs) {
            const v = f(data, env);
            if (v !== undefined) out[k] = v;
          }
          return out;
        };
      }
      default:
        return null;
    }
  };
  return build(ast);
}
