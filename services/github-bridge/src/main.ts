// Process entry of github-bridge (`runService` handles db, bus, projections, RPC, health, shutdown).
import { startGithubBridge } from './service.ts';

startGithubBridge().catch((err: unknown) => {
  process.stderr.write(`github-bridge failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
