import type { Logger } from './logger.ts';

type Step = { name: string; run: () => Promise<unknown> | unknown };

export interface ShutdownOptions {
  /** How long the steps may take together before the process is ended with code 1. */
  timeoutMs?: number;
  /**
   * Ends the process once the steps ran (0) or timed out (1). A library does not end its host process: the
   * process entry passes `process.exit` here. Without it the exit code is set and the process ends when the
   * closed connections leave nothing running (every step closes what it opened).
   */
  exit?: (code: number) => void;
}

function setExitCode(code: number): void {
  process.exitCode = code;
}

/**
 * Ordered graceful shutdown on SIGTERM/SIGINT: stop taking work, finish in-flight work, close connections.
 * Steps run in the order they were added; a step that hangs is cut off after `timeoutMs`.
 */
export function onShutdown(logger: Logger, opts: ShutdownOptions | number = {}) {
  const { timeoutMs = 15_000, exit = setExitCode } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const steps: Step[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return stopping;
    stopping = (async () => {
      logger.info('shutting down', { signal });
      const timer = setTimeout(() => {
        logger.error('shutdown timed out, exiting', { timeoutMs });
        exit(1);
      }, timeoutMs);
      timer.unref();
      for (const s of steps) {
        try {
          await s.run();
        } catch (err) {
          logger.warn('shutdown step failed', { step: s.name, err });
        }
      }
      clearTimeout(timer);
      logger.info('stopped');
    })();
    return stopping;
  };
  const handler = (signal: NodeJS.Signals) => {
    void stop(signal).then(() => exit(0));
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  return {
    add(name: string, run: Step['run']) {
      steps.push({ name, run });
    },
    stop,
  };
}
