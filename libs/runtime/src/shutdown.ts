import type { Logger } from './logger.ts';

type Step = { name: string; run: () => Promise<unknown> | unknown };

/**
 * Ordered graceful shutdown on SIGTERM/SIGINT: stop taking work, finish in-flight work, close connections.
 * Steps run in the order they were added; a step that hangs is cut off after `timeoutMs`.
 */
export function onShutdown(logger: Logger, timeoutMs = 15_000) {
  const steps: Step[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return stopping;
    stopping = (async () => {
      logger.info('shutting down', { signal });
      const timer = setTimeout(() => {
        logger.error('shutdown timed out, exiting', { timeoutMs });
        process.exit(1);
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
    void stop(signal).then(() => process.exit(0));
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
