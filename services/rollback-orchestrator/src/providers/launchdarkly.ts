import { excerpt, type Outbound, ProviderError, retryableStatus } from './http.ts';

/**
 * LaunchDarkly REST API v2, semantic patch: `PATCH /api/v2/flags/{project}/{flag}` with
 * `Content-Type: application/json; domain-model=launchdarkly.semanticpatch` and
 * `{environmentKey, instructions: [{kind: "turnFlagOff" | "turnFlagOn"}], comment}`.
 */
export async function toggleLaunchDarkly(
  out: Outbound,
  p: { baseUrl: string; token: string; projectKey: string; environmentKey: string; flagKey: string; on: boolean; comment: string },
  timeoutMs: number,
) {
  const url = `${p.baseUrl.replace(/\/+$/, '')}/api/v2/flags/${encodeURIComponent(p.projectKey)}/${encodeURIComponent(p.flagKey)}`;
  const body = JSON.stringify({
    environmentKey: p.environmentKey,
    instructions: [{ kind: p.on ? 'turnFlagOn' : 'turnFlagOff' }],
    comment: p.comment,
  });
  const res = await out.send({
    method: 'PATCH',
    url,
    headers: {
      authorization: p.token,
      'content-type': 'application/json; domain-model=launchdarkly.semanticpatch',
      accept: 'application/json',
    },
    body,
    timeoutMs,
  });
  const response = `${res.status} ${excerpt(res.text, 300)}`;
  if (res.status < 200 || res.status >= 300)
    throw new ProviderError(`LaunchDarkly answered ${res.status}: ${excerpt(res.text, 200)}`, retryableStatus(res.status), response);
  return { request: excerpt(`PATCH ${url} ${body}`), response, result: { flag_key: p.flagKey, on: p.on, status: res.status } };
}
