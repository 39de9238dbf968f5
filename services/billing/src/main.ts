// Process entry of the billing service (`runService` handles db, bus, projections, RPC, health, shutdown).
import { startBilling } from './service.ts';

startBilling().catch((err: unknown) => {
  process.stderr.write(`billing failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
