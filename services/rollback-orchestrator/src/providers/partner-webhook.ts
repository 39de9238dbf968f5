import { excerpt, type Outbound, ProviderError, retryableStatus } from './http.ts';

export interface PartnerToggle {
  baseUrl: string;
  token: string;
  flagKey: string;
  action: 'disable' | 'enable';
  incidentId: string;
  reason: string;
  requestedAt: string;
  /** Same for every retry and every re-execution of the action: the partner toggles once. */
  idempotencyKey: string;
}

/** The partner program's flag webhook path under the partner's base URL. */
export function partnerWebhookUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/webhook/pathcanary`;
}

/**
 * One call of the partner flag webhook: `POST {base}/webhook/pathcanary`, Bearer token, Idempotency-Key,
 * JSON `{flag_key, action, incident_id, reason, requested_at}`. Success is 2xx with `{"success": true}`.
 */
export async function callPartnerFlagWebhook(out: Outbound, t: PartnerToggle, timeoutMs: number) {
  const body = JSON.stringify({
    flag_key: t.flagKey,
    action: t.action,
    incident_id: t.incidentId,
    reason: t.reason,
    requested_at: t.requestedAt,
  });
  const url = partnerWebhookUrl(t.baseUrl);
  const request = `POST ${url} Idempotency-Key: ${t.idempotencyKey} ${body}`;
  const res = await out.send({
    method: 'POST',
    url,
    headers: {
      authorization: `Bearer ${t.token}`,
      'content-type': 'application/json',
      'idempotency-key': t.idempotencyKey,
      accept: 'application/json',
    },
    body,
    timeoutMs,
  });
  const response = `${res.status} ${excerpt(res.text, 400)}`;
  if (res.status < 200 || res.status >= 300)
    throw new ProviderError(`partner answered ${res.status}: ${excerpt(res.text, 200)}`, retryableStatus(res.status), response);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch (err) {
    throw new ProviderError('partner answered 2xx without a JSON body', false, response, { cause: err });
  }
  if ((parsed as { success?: unknown })?.success !== true)
    throw new ProviderError('partner answered 2xx without "success": true', false, response);
  return { request: excerpt(request), response, result: { flag_key: t.flagKey, action: t.action, status: res.status } };
}
