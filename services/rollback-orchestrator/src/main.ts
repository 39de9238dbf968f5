// Process entry of the rollback orchestrator (`runService` handles db, bus, projections, RPC, health, shutdown).
import { startRollbackOrchestrator } from './service.ts';

startRollbackOrchestrator().catch((err: unknown) => {
  process.stderr.write(`rollback-orchestrator failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
