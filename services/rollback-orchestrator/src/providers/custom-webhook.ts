import { signWebhook } from '@pep/webhooks';
import { excerpt, type Outbound, ProviderError, retryableStatus } from './http.ts';

/**
 * A customer's own rollback hook, signed like the platform's webhooks (Standard Webhooks: webhook-id,
 * webhook-timestamp, webhook-signature). The webhook id is stable per (incident, action), so a receiver
 * can dedupe a retried call.
 */
export async function callCustomWebhook(
  out: Outbound,
  p: { url: string; secret: string; webhookId: string; payload: Record<string, unknown>; now: Date },
  timeoutMs: number,
) {
  const body = JSON.stringify(p.payload);
  const signed = signWebhook({ id: p.webhookId, timestamp: p.now, body, secrets: [p.secret] });
  const res = await out.send({ method: 'POST', url: p.url, headers: { 'content-type': 'application/json', ...signed }, body, timeoutMs });
  const response = `${res.status} ${excerpt(res.text, 300)}`;
  if (res.status < 200 || res.status >= 300)
    throw new ProviderError(`webhook answered ${res.status}`, retryableStatus(res.status), response);
  return { request: excerpt(`POST ${p.url} webhook-id: ${p.webhookId} ${body}`), response, result: { url: p.url, status: res.status } };
}
