// The gateway's request to an owning service, against real NATS: "no responders" within the start-up window waits
// for the service to subscribe; outside it (or past it) the answer is a named 503 carrying the service and a
// Retry-After, which the HTTP mapping turns into the header.
import type { RpcRequest } from '@pep/contracts';
import { NATS_URL, testNames } from '@pep/testing';
import { ClientNats } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_AFTER_S, problemResult } from '../src/http/http-result.ts';
import { requestService, ServiceUnavailableError } from '../src/routing/rpc-client.ts';
import { startResponder } from './support/gateway.ts';

const names = testNames('rpcclient');
let client: ClientNats;
let responder: Awaited<ReturnType<typeof startResponder>>;
const request: RpcRequest = {
  principal: { kind: 'admin', scopes: ['admin'], credential_id: 'test' },
  params: {},
  query: {},
  body: {},
  request_id: 'req_test',
};
const subject = (pattern: string) => `${names.RPC_PREFIX}.partner-registry.${pattern}`;

beforeAll(async () => {
  client = new ClientNats({ servers: [NATS_URL], name: 'rpc-client-test' } as never);
  await client.connect();
  responder = await startResponder(names);
});
afterAll(async () => {
  await responder?.close();
  await client?.close();
});

describe('requestService', () => {
  it('answers a named 503 with the service and a Retry-After when nobody responds and there is no window', async () => {
    const err = await requestService(client, { subject: subject('nobody'), service: 'partner-registry', request, timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    const problem = (err as ServiceUnavailableError).toProblem();
    expect(problem).toMatchObject({ status: 503, service: 'partner-registry', retry_after: 1 });
    expect(problemResult(problem).headers['retry-after']).toBe('1');
  });

  it('waits within the start-up window for a service that subscribes late, then gets its answer', async () => {
    const pending = requestService(client, {
      subject: subject('late'),
      service: 'partner-registry',
      request,
      timeoutMs: 2000,
      waitForResponderMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 600));
    await responder.answer('partner-registry', 'late', () => ({ ok: true, status: 200, body: { late: true } }));
    await expect(pending).resolves.toEqual({ ok: true, status: 200, body: { late: true } });
  });

  it('gives up when the window ends without a responder', async () => {
    const err = await requestService(client, {
      subject: subject('never'),
      service: 'partner-registry',
      request,
      timeoutMs: 2000,
      waitForResponderMs: 500,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('problemResult', () => {
  it('puts Retry-After on every 503, from the problem or a default, and on no other status', () => {
    expect(problemResult({ type: 't', title: 't', status: 503, retry_after: 7 }).headers['retry-after']).toBe('7');
    expect(problemResult({ type: 't', title: 't', status: 503 }).headers['retry-after']).toBe(String(DEFAULT_RETRY_AFTER_S));
    expect(problemResult({ type: 't', title: 't', status: 502 }).headers['retry-after']).toBeUndefined();
  });
});
