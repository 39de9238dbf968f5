/**
 * Pure translation of a verified GitHub webhook delivery into platform events. Repository facts go to the
 * repository's aggregate subject (ordered per repository), installation facts to the installation's.
 */
type Json = Record<string, any>;

export interface Translated {
  aggregate: 'github_repo' | 'github_installation';
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export function translateDelivery(d: { delivery_id: string; event: string; payload: Json; received_at: string }): Translated[] {
  const p = d.payload;
  const repo = p.repository as Json | undefined;
  const repoBase = repo ? { repository_id: Number(repo.id), repository: String(repo.full_name), delivery_id: d.delivery_id } : null;
  const onRepo = (type: string, data: Record<string, unknown>): Translated[] =>
    repoBase ? [{ aggregate: 'github_repo', id: String(repoBase.repository_id), type, data: { ...repoBase, ...data } }] : [];

  switch (d.event) {
    case 'pull_request': {
      const pr = p.pull_request as Json;
      const pull = {
        number: Number(pr.number),
        title: String(pr.title ?? ''),
        author: (pr.user?.login as string | undefined) ?? null,
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
          merge_commit_sha: (pr.merge_commit_sha as string | null) ?? null,
        });
      }
      if (p.action === 'closed') return onRepo('github.pull_request.closed', { ...pull, closed_at: String(pr.closed_at ?? d.received_at) });
      return [];
    }
    case 'push': {
      const commits = (p.commits as Json[] | undefined) ?? [];
      return onRepo('github.push', {
        ref: String(p.ref),
        before: String(p.before),
        after: String(p.after),
        commits: commits.length,
        distinct_commits: commits.filter((c) => c.distinct !== false).length,
        pusher: (p.pusher?.name as string | undefined) ?? null,
        pushed_at: String(p.head_commit?.timestamp ?? d.received_at),
      });
    }
    case 'release':
      if (p.action !== 'published') return [];
      return onRepo('github.release.published', {
        tag: String(p.release?.tag_name),
        name: (p.release?.name as string | null) ?? null,
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
      const inst = p.installation as Json;
      const base = {
        installation_id: Number(inst.id),
        account: String(inst.account?.login ?? ''),
        delivery_id: d.delivery_id,
        at: d.received_at,
      };
      if (p.action === 'created') {
        const repositories = ((p.repositories as Json[] | undefined) ?? []).map((r) => String(r.full_name));
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
