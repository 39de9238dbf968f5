/** JSON lines logger: one object per line on stdout, with the service name and trace id when known. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function serializeError(e: unknown): unknown {
  if (e instanceof Error) {
    return { name: e.name, message: e.message, stack: e.stack, ...(e.cause ? { cause: serializeError(e.cause) } : {}) };
  }
  return e;
}

export function createLogger(service: string, level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const min = order[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, service, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = k === 'err' || v instanceof Error ? serializeError(v) : v;
    process.stdout.write(`${JSON.stringify(rec)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(service, level, { ...base, ...fields }),
  };
}
