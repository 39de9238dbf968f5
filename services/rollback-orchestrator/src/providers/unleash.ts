import { excerpt, type Outbound, ProviderError, retryableStatus } from './http.ts';

/** Unleash admin API: `POST /api/admin/projects/{project}/features/{feature}/environments/{env}/on|off`. */
export async function toggleUnleash(
  out: Outbound,
  p: { baseUrl: string; token: string; project: string; environment: string; flagKey: string; on: boolean },
  timeoutMs: number,
) {
  const url = `${p.baseUrl.replace(/\/+$/, '')}/api/admin/projects/${encodeURIComponent(p.project)}/features/${encodeURIComponent(p.flagKey)}/environments/${encodeURIComponent(p.environment)}/${p.on ? 'on' : 'off'}`;
  const res = await out.send({
    method: 'POST',
    url,
    headers: { authorization: p.token, 'content-type': 'application/json', accept: 'application/json' },
    body: '',
    timeoutMs,
  });
  const response = `${res.status} ${excerpt(res.text, 300)}`;
  if (res.status < 200 || res.status >= 300)
    throw new ProviderError(`Unleash answered ${res.status}: ${excerpt(res.text, 200)}`, retryableStatus(res.status), response);
  return { request: `POST ${url}`, response, result: { flag_key: p.flagKey, on: p.on, status: res.status } };
}
