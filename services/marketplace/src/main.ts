// Process entry of the marketplace (`runService` handles db, bus, projections, RPC, health, shutdown).
import { startMarketplace } from './service.ts';

startMarketplace().catch((err: unknown) => {
  process.stderr.write(`marketplace failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
