/**
 * Operator CLI (`pnpm ops <command>`): inspect the stream and consumer lag, list projections, rebuild a
 * projection from the start / a sequence / a time, and list dead letters, for any service.
 *
 *   pnpm ops stream
 *   pnpm ops consumers
 *   pnpm ops projections <service>
 *   pnpm ops rebuild <service> <projection> [--from-seq N | --from-time 2026-01-01T00:00:00Z]
 *   pnpm ops dead-letters <service> [--limit N]
 *   pnpm ops dead-letters retry <service> <id>     apply a projection's dead-lettered event again
 *   pnpm ops dead-letters discard <service> <id>   settle it without applying (the projection stops reporting degraded)
 *   pnpm ops secrets status                         endpoint secrets the keyring cannot read / not under the current key
 *   pnpm ops secrets reencrypt [--dry-run]          re-seal every endpoint secret under the current key (as events)
 */
import 'reflect-metadata';
import { closeBus, connectBus } from '@pep/events';
import { baseConfigSchema, loadConfig } from '@pep/runtime';
import { rpcSubject } from '@pep/service';
import { ClientNats } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';

const config = loadConfig(baseConfigSchema);
const [cmd, ...args] = process.argv.slice(2);

function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function rpc(service: string, pattern: string, body: unknown = {}, query: unknown = {}) {
  const client = new ClientNats({ servers: config.NATS_URL.split(',') } as never);
  await client.connect();
  try {
    const req = {
      principal: { kind: 'admin', scopes: ['admin'], credential_id: 'ops-cli' },
      params: {},
      query,
      body,
      request_id: `ops-${Date.now()}`,
    };
    return await firstValueFrom(client.send(rpcSubject(config.RPC_PREFIX, service, pattern), req).pipe(timeout(10_000)));
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
      const rows = [];
      for await (const c of bus.jsm.consumers.list(config.STREAM_NAME)) {
        rows.push({
          name: c.name,
          filter: c.config.filter_subject,
          pending: c.num_pending,
          ack_pending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          delivered_stream_seq: c.delivered.stream_seq,
        });
      }
      console.table(rows);
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
      print(
        await rpc(
          service,
          'ops.rebuild',
          seq ? { projection, from: 'seq', seq: Number(seq) } : time ? { projection, from: 'time', time } : { projection, from: 'start' },
        ),
      );
      return;
    }
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
        process.stderr.write('usage: pnpm ops secrets status | reencrypt [--dry-run]\n');
        process.exitCode = 2;
        return;
      }
      const reply = await rpc(
        'webhook-dispatcher',
        `ops.secrets.${sub}`,
        sub === 'reencrypt' ? { dry_run: args.includes('--dry-run') } : {},
      );
      print(reply);
      const body = (reply as { ok?: boolean; body?: { unreadable?: unknown[]; failed?: unknown[] } }).body;
      // Something could not be read or re-sealed: say so in the exit status too (scripts and CI check it).
      if (!(reply as { ok?: boolean }).ok || (body?.unreadable?.length ?? 0) > 0 || (body?.failed?.length ?? 0) > 0) process.exitCode = 1;
      return;
    }
    default:
      process.stdout.write(
        'usage: pnpm ops stream | consumers | projections <svc> | rebuild <svc> <projection> [--from-seq N|--from-time T] | dead-letters <svc>\n',
      );
      process.exitCode = cmd ? 2 : 0;
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
  process.exit(1);
});
