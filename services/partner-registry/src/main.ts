// Process entry of the partner registry (one process; `runService` handles db, bus, RPC, health, shutdown).
import { startPartnerRegistry } from './service.ts';

startPartnerRegistry().catch((err: unknown) => {
  process.stderr.write(`partner-registry failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
