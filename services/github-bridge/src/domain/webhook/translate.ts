/**
 * Pure translation of a verified GitHub webhook delivery into platform events. Repository facts go to the
 * repository's aggregate subject (ordered per repository), installation facts to the installation's.
 */

/**
 * The parts of GitHub's webhook payloads the translation reads (docs.github.com "Webhook events and payloads").
 * Every field is optional: a delivery is what GitHub sent, and a missing field becomes a default, never a throw.
 * Type aliases, not interfaces, so a delivery's `Record<string, unknown>` payload can be viewed through them.
 */
type Account = { login?: string };
type Repository = { id?: number | string; full_name?: string };
type PullRequest = {
  number?: number;
  title?: string;
  user?: Account | null;
  base?: { ref?: string };
  head?: { ref?: string };
  html_url?: string;
  created_at?: string;
  merged?: boolean;
  merged_at?: string | null;
  merge_commit_sha?: string | null;
  closed_at?: string | null;
};
type GithubPayload = {
  action?: string;
  repository?: Repository;
  pull_request?: PullRequest;
  ref?: string;
  before?: string;
  after?: string;
  commits?: { distinct?: boolean }[];
  pusher?: { name?: string };
  head_commit?: { timestamp?: string } | null;
  release?: { tag_name?: string; name?: string | null; published_at?: string | null };
  issue?: { number?: number; created_at?: string; closed_at?: string | null };
  installation?: { id?: number; account?: Account };
  repositories?: { full_name?: string }[];
};

export interface Translated {
  aggregate: 'github_repo' | 'github_installation';
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** A delivery without the object its event names (a `pull_request` event without `pull_request`): it cannot be translated. */
export class MalformedDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedDeliveryError';
  }
}

function required<T>(value: T | undefined, d: { delivery_id: string; event: string }, field: string): T {
  if (value === undefined || value === null) throw new MalformedDeliveryError(`${d.event} delivery ${d.delivery_id} has no ${field}`);
  return value;
}

export function translateDelivery(d: {
  delivery_id: string;
  event: string;
  payload: Record<string, unknown>;
  received_at: string;
}): Translated[] {
  const p = d.payload as GithubPayload;
  const repo = p.repository;
  const repoBase = repo ? { repository_id: Number(repo.id), repository: String(repo.full_name), delivery_id: d.delivery_id } : null;
  const onRepo = (type: string, data: Record<string, unknown>): Translated[] =>
    repoBase ? [{ aggregate: 'github_repo', id: String(repoBase.repository_id), type, data: { ...repoBase, ...data } }] : [];

  switch (d.event) {
    case 'pull_request': {
      const pr = required(p.pull_request, d, 'pull_request');
      const pull = {
        number: Number(pr.number),
        title: String(pr.title ?? ''),
        author: pr.user?.login ?? null,
        base: String(pr.base?.ref ?? ''),
        head: String(pr.head?.ref ?? ''),
        url: String(pr.html_url ?? ''),
        opened_at: String(pr.created_at ?? d.received_at),
      };
      if (p.action === 'opened' || p.action === 'reopened') return onRepo('github.pull_request.opened', pull);
      if (p.action === 'closed' && pr.merged) {
        return onRepo('github.pull_request.merged', {
          ...pull,
          merged_at: String(pr.merged_at ?? d.received_at),
          merge_commit_sha: pr.merge_commit_sha ?? null,
        });
      }
      if (p.action === 'closed') return onRepo('github.pull_request.closed', { ...pull, closed_at: String(pr.closed_at ?? d.received_at) });
      return [];
    }
    case 'push': {
      const commits = p.commits ?? [];
      return onRepo('github.push', {
        ref: String(p.ref),
        before: String(p.before),
        after: String(p.after),
        commits: commits.length,
        distinct_commits: commits.filter((c) => c.distinct !== false).length,
        pusher: p.pusher?.name ?? null,
        pushed_at: String(p.head_commit?.timestamp ?? d.received_at),
      });
    }
    case 'release':
      if (p.action !== 'published') return [];
      return onRepo('github.release.published', {
        tag: String(p.release?.tag_name),
        name: p.release?.name ?? null,
        published_at: String(p.release?.published_at ?? d.received_at),
      });
    case 'issues': {
      const number = Number(p.issue?.number);
      if (p.action === 'opened' || p.action === 'reopened')
        return onRepo('github.issue.opened', { number, at: String(p.issue?.created_at ?? d.received_at) });
      if (p.action === 'closed') return onRepo('github.issue.closed', { number, at: String(p.issue?.closed_at ?? d.received_at) });
      return [];
    }
    case 'installation': {
      const inst = required(p.installation, d, 'installation');
      const base = {
        installation_id: Number(inst.id),
        account: String(inst.account?.login ?? ''),
        delivery_id: d.delivery_id,
        at: d.received_at,
      };
      if (p.action === 'created') {
        const repositories = (p.repositories ?? []).map((r) => String(r.full_name));
        return [
          { aggregate: 'github_installation', id: String(inst.id), type: 'github.installation.created', data: { ...base, repositories } },
        ];
      }
      if (p.action === 'deleted')
        return [{ aggregate: 'github_installation', id: String(inst.id), type: 'github.installation.deleted', data: base }];
      return [];
    }
    default:
      return [];
  }
}
