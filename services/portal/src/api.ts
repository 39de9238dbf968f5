// The portal's API client: the public /v1 API with the session cookie (same origin), typed from contracts/ so a
// contract change breaks the build. Writes carry the session's CSRF token; errors are RFC 9457 problems.
import type {
  Accepted,
  ApiKey,
  ApiKeyWithSecret,
  Application,
  Attempt,
  Delivery,
  Integration,
  IntegrationMapping,
  Listing,
  ListingContent,
  ListingDraft,
  PricingPlan,
  OAuthClient,
  Page,
  PartnerUser,
  Review,
  Session,
  SignedIn,
  Ticket,
  WebhookEndpoint,
  WebhookJob,
} from '@pep/contracts';

export type { Accepted, ApiKey, ApiKeyWithSecret, Application, Attempt, Delivery, Page, PartnerUser, Session, SignedIn, WebhookEndpoint };
export type {
  Integration,
  IntegrationMapping,
  Listing,
  ListingContent,
  ListingDraft,
  OAuthClient,
  PricingPlan,
  Review,
  Ticket,
  WebhookJob,
};
/** A client as registered: a confidential client's secret is in this answer only. */
export type OAuthClientWithSecret = OAuthClient & { client_secret?: string };

export interface Problem {
  status: number;
  title: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
export const setCsrfToken = (token: string) => {
  csrfToken = token;
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError((parsed as Problem | undefined) ?? { status: res.status, title: res.statusText });
  return parsed as T;
}

export const errorText = (err: unknown) =>
  err instanceof ApiError
    ? [err.problem.detail ?? err.problem.title, ...(err.problem.errors ?? []).map((e) => `${e.path}: ${e.message}`)].join(' — ')
    : String(err);
