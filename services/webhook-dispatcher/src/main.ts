// Process entry of the webhook dispatcher (`runService` handles db, bus, projections, RPC, health, shutdown).
import { startWebhookDispatcher } from './service.ts';

startWebhookDispatcher().catch((err: unknown) => {
  process.stderr.write(`webhook-dispatcher failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
