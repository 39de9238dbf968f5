/**
 * Operator CLI (`pnpm ops <command>`): inspect the stream and consumer lag, list projections, rebuild a
 * projection from the start / a sequence / a time, and list dead letters, for any service.
 * Only the answer goes to stdout (JSON, so it pipes into jq); logs, errors and progress bars go to stderr.
 *
 *   pnpm ops stream
 *   pnpm ops consumers [--all] [--table]   durable consumers; --all adds ephemeral ones (ordered readers)
 *   pnpm ops projections <service>
 *   pnpm ops rebuild <service> <projection> [--from-seq N | --from-time 2026-01-01T00:00:00Z] [--no-wait]
 *   pnpm ops rebuild <service> <projection> --beside   build a shadow copy from seq 1, switch over atomically
 *   pnpm ops replay <endpoint_id> --since T [--until T] [--event-types a,b] [--no-wait]   re-deliver to an endpoint
 *   pnpm ops job <job_id>                           follow a webhook job (replay, recover, resend)
 *   pnpm ops dead-letters <service> [--limit N]
 *   pnpm ops dead-letters retry <service> <id>     process a projection's or a worker's dead-lettered event again
 *   pnpm ops dead-letters discard <service> <id>   settle it without applying (the projection stops reporting degraded)
 *   pnpm ops secrets status [rollback-orchestrator] secrets the keyring cannot read / not under the current key
 *   pnpm ops secrets reencrypt [--dry-run]          re-seal every endpoint secret under the current key (as events)
 */
import 'reflect-metadata';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeBus, connectBus } from '@pep/events';
import { baseConfigSchema, loadConfig } from '@pep/runtime';
import { rpcSubject } from '@pep/service';
import { Logger, type LoggerService } from '@nestjs/common';
import { ClientNats } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { progressReporter } from './ops-progress.ts';

// Nest's ClientNats logs its connection status (`[ClientNats] NatsStatus: ...`) through Nest's logger, which
// writes to stdout by default: send every Nest log line to stderr so stdout holds only the answer.
const toStderr =
  (level: string) =>
  (message: unknown, ...rest: unknown[]) => {
    const context = typeof rest.at(-1) === 'string' ? ` [${String(rest.at(-1))}]` : '';
    process.stderr.write(`${level}${context} ${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  };
const stderrLogger: LoggerService = {
  log: toStderr('log'),
  error: toStderr('error'),
  warn: toStderr('warn'),
  debug: toStderr('debug'),
  verbose: toStderr('verbose'),
  fatal: toStderr('fatal'),
};
Logger.overrideLogger(stderrLogger);

const config = loadConfig(baseConfigSchema);
const [cmd, ...args] = process.argv.slice(2);

/** The services that answer `ops.*` requests: every service run by @pep/service (all but the gateway). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const KNOWN_SERVICES = readdirSync(join(ROOT, 'services'))
  .filter((s) => s !== 'gateway' && existsSync(join(ROOT, 'services', s, 'src', 'main.ts')))
  .sort();

/** A failure the operator can act on: printed as one line on stderr, exit code 2 (usage) or 1. */
class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function rpc(service: string, pattern: string, body: unknown = {}, query: unknown = {}, params: unknown = {}) {
  if (!KNOWN_SERVICES.includes(service)) {
    throw new OpsError(`unknown service "${service}": the services with projections and dead letters are ${KNOWN_SERVICES.join(', ')}`, 2);
  }
  const subject = rpcSubject(config.RPC_PREFIX, service, pattern);
  const client = new ClientNats({ servers: config.NATS_URL.split(',') } as never);
  await client.connect();
  try {
    const req = {
      principal: { kind: 'admin', scopes: ['admin'], credential_id: 'ops-cli' },
      params,
      query,
      body,
      request_id: `ops-${Date.now()}`,
    };
    return await firstValueFrom(client.send(subject, req).pipe(timeout(10_000)));
  } catch (err) {
    const e = err as Error & { code?: string };
    if (/no (subscribers|responders)/i.test(e.message ?? '') || e.code === '503') {
      throw new OpsError(
        `${service} is not answering: nothing listens on ${subject}. Is it running (npm start runs every service), ` +
          `and with this RPC_PREFIX ("${config.RPC_PREFIX}") and NATS_URL (${config.NATS_URL})?`,
      );
    }
    if (e.name === 'TimeoutError') throw new OpsError(`${service} did not answer ${pattern} within 10 s (${subject})`);
    throw err;
  } finally {
    await client.close();
  }
}

function print(v: unknown) {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

async function main() {
  switch (cmd) {
    case 'stream': {
      const bus = await connectBus({ url: config.NATS_URL, name: 'ops', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
      const info = await bus.jsm.streams.info(config.STREAM_NAME);
      print({ name: info.config.name, subjects: info.config.subjects, replicas: info.config.num_replicas, state: info.state });
      await closeBus(bus);
      return;
    }
    case 'consumers': {
      const bus = await connectBus({ url: config.NATS_URL, name: 'ops', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
      // Durable consumers are the services' work queues, whose pending count is lag. Ephemeral ones are ordered
      // readers (projections, rebuilds, tests) that come and go; their pending count is not lag (see
      // `ops projections` for a projection's lag), so they are listed only with --all.
      const all = args.includes('--all');
      const rows = [];
      for await (const c of bus.jsm.consumers.list(config.STREAM_NAME)) {
        const durable = Boolean(c.config.durable_name);
        if (!durable && !all) continue;
        rows.push({
          name: c.name,
          durable,
          filter: c.config.filter_subject ?? c.config.filter_subjects?.join(',') ?? null,
          pending: c.num_pending,
          ack_pending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          delivered_stream_seq: c.delivered.stream_seq,
        });
      }
      rows.sort((a, b) => Number(b.durable) - Number(a.durable) || a.name.localeCompare(b.name));
      if (args.includes('--table')) console.table(rows);
      else print(rows);
      await closeBus(bus);
      return;
    }
    case 'projections':
      print(await rpc(need(args[0], 'service'), 'ops.projections'));
      return;
    case 'rebuild': {
      const service = need(args[0], 'service');
      const projection = need(args[1], 'projection');
      const seq = flag('from-seq');
      const time = flag('from-time');
      const beside = args.includes('--beside');
      const from = seq ? { from: 'seq', seq: Number(seq) } : time ? { from: 'time', time } : { from: 'start' };
      const reply = (await rpc(service, 'ops.rebuild', { projection, ...from, beside })) as Reply<{ restartedAt?: number }>;
      if (!reply.ok || args.includes('--no-wait')) {
        print(reply);
        if (!reply.ok) process.exitCode = 1;
        return;
      }
      print(await followRebuild(service, projection, beside, reply.body?.restartedAt ?? 1));
      return;
    }
    case 'replay': {
      const endpoint = need(args[0], 'endpoint_id');
      const types = flag('event-types');
      const reply = (await rpc(
        'webhook-dispatcher',
        'endpoints.replay',
        {
          since: need(flag('since'), 'since'),
          ...(flag('until') ? { until: flag('until') } : {}),
          ...(types ? { event_types: types.split(',') } : {}),
        },
        {},
        { id: endpoint },
      )) as Reply<{ id?: string }>;
      if (!reply.ok || !reply.body?.id || args.includes('--no-wait')) {
        print(reply);
        if (!reply.ok) process.exitCode = 1;
        return;
      }
      print(await followJob(reply.body.id));
      return;
    }
    case 'job':
      print(await followJob(need(args[0], 'job_id')));
      return;
    case 'dead-letters': {
      const sub = args[0];
      if (sub === 'retry' || sub === 'discard') {
        const service = need(args[1], 'service');
        const id = Number(need(args[2], 'id'));
        const reply = await rpc(service, `ops.dead-letters.${sub}`, { id });
        print(reply);
        if (!(reply as { ok?: boolean }).ok) process.exitCode = 1;
        return;
      }
      print(await rpc(need(sub, 'service'), 'ops.dead-letters', {}, { limit: Number(flag('limit') ?? 100) }));
      return;
    }
    case 'secrets': {
      const sub = args[0];
      if (sub !== 'status' && sub !== 'reencrypt') {
        process.stderr.write('usage: npm run ops -- secrets status [rollback-orchestrator] | reencrypt [--dry-run]\n');
        process.exitCode = 2;
        return;
      }
      // The webhook dispatcher's endpoint secrets by default; `secrets status rollback-orchestrator` for policy secrets.
      const service = sub === 'status' && args[1] && !args[1].startsWith('--') ? args[1] : 'webhook-dispatcher';
      const reply = await rpc(service, `ops.secrets.${sub}`, sub === 'reencrypt' ? { dry_run: args.includes('--dry-run') } : {});
      print(reply);
      const body = (reply as { ok?: boolean; body?: { unreadable?: unknown[]; failed?: unknown[] } }).body;
      // Something could not be read or re-sealed: say so in the exit status too (scripts and CI check it).
      if (!(reply as { ok?: boolean }).ok || (body?.unreadable?.length ?? 0) > 0 || (body?.failed?.length ?? 0) > 0) process.exitCode = 1;
      return;
    }
    default:
      (cmd ? process.stderr : process.stdout).write(
        `usage: npm run ops -- stream | consumers [--all] [--table] | projections <svc> | rebuild <svc> <projection> [--from-seq N|--from-time T|--beside] [--no-wait]\n` +
          `  | dead-letters <svc> | dead-letters retry|discard <svc> <id> | replay <endpoint_id> --since T | job <job_id> | secrets status|reencrypt\n` +
          `${cmd ? `unknown command "${cmd}"; ` : ''}services: ${KNOWN_SERVICES.join(', ')}\n`,
      );
      process.exitCode = cmd ? 2 : 0;
  }
}

type Reply<T> = { ok?: boolean; body?: T; problem?: unknown };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ProjectionLine {
  name: string;
  checkpoint: number;
  behind?: number;
  state: string;
  rebuild?: { state: string; applied: number; target: number; events: number; error?: string; startedAt: string; finishedAt?: string };
}

/** Follows a rebuild until it is caught up (in place) or switched over (beside), with a progress bar on stderr. */
async function followRebuild(service: string, projection: string, beside: boolean, startSeq: number) {
  const bar = progressReporter({ label: `rebuild ${service}/${projection}${beside ? ' (beside)' : ''}`, unit: 'seq' });
  const started = Date.now();
  for (;;) {
    const reply = (await rpc(service, 'ops.projections')) as Reply<{ data: ProjectionLine[] }>;
    const line = reply.body?.data.find((p) => p.name === projection);
    if (!line) throw new OpsError(`${service} no longer reports projection ${projection}`);
    if (beside) {
      const r = line.rebuild;
      if (r) bar.update(r.applied, Math.max(r.target, r.applied));
      if (r?.state === 'failed')
        throw new OpsError(`rebuild of ${projection} failed: ${r.error ?? 'unknown'} (the live read model is unchanged)`);
      if (r?.state === 'done') {
        bar.finish(`switched over at checkpoint ${line.checkpoint}: ${r.events} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return { projection, mode: 'beside', checkpoint: line.checkpoint, events: r.events, state: line.state };
      }
    } else {
      const behind = Math.max(0, line.behind ?? 0);
      const done = Math.max(0, line.checkpoint - startSeq + 1);
      bar.update(done, done + behind);
      if (behind === 0 && Date.now() - started > 500) {
        bar.finish(`caught up at checkpoint ${line.checkpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return { projection, mode: 'in_place', checkpoint: line.checkpoint, state: line.state };
      }
    }
    await sleep(250);
  }
}

/** Follows a webhook job (replay, recover, resend) until it finishes, with a progress bar on stderr. */
async function followJob(id: string) {
  const bar = progressReporter({ label: `job ${id}`, unit: 'ev' });
  for (;;) {
    const reply = (await rpc('webhook-dispatcher', 'jobs.get', {}, {}, { id })) as Reply<{
      status: string;
      total: number | null;
      processed: number;
    }>;
    if (!reply.ok || !reply.body) throw new OpsError(`job ${id}: ${JSON.stringify(reply.problem ?? reply)}`);
    const j = reply.body;
    bar.update(j.processed, Math.max(j.total ?? j.processed, j.processed));
    if (j.status !== 'running' && j.status !== 'queued') {
      bar.finish(`job ${id} ${j.status}: ${j.processed} processed`);
      if (j.status !== 'completed') process.exitCode = 1;
      return j;
    }
    await sleep(500);
  }
}

function need(v: string | undefined, what: string): string {
  if (!v) {
    process.stderr.write(`missing <${what}>\n`);
    process.exit(2);
  }
  return v;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(err instanceof OpsError ? err.exitCode : 1);
});
