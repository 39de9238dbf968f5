import type { OpenRevertRequest, OpenRevertResult } from '@pep/contracts';
import { type GithubClient, GithubApiError } from './client.ts';

/** Why a revert cannot be opened; each maps to a reason the rollback's audit trail shows. */
export class RevertFailedError extends Error {
  constructor(
    message: string,
    readonly reason: 'not_merged' | 'not_found' | 'conflict' | 'rate_limited' | 'github_error',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RevertFailedError';
  }
}

interface Pull {
  number: number;
  title: string;
  html_url: string;
  merged_at: string | null;
  merge_commit_sha: string | null;
  base: { ref: string; repo?: { id: number } };
  head: { ref: string };
}
interface GitCommit {
  sha: string;
  tree: { sha: string };
  parents: { sha: string }[];
}
interface TreeItem {
  path: string;
  mode: string;
  type: string;
  sha: string;
}

export const revertBranch = (pullNumber: number, incidentId: string) => `revert-${pullNumber}-${incidentId}`;

function revertBody(req: OpenRevertRequest, pull: Pull, mergeSha: string): string {
  const c = req.context;
  return [
    `This reverts #${pull.number} (merge commit ${mergeSha}) automatically, because a PathCanary monitor found a broken revenue journey.`,
    '',
    `| | |`,
    `|---|---|`,
    `| Incident | \`${req.incident_id}\`${c.incident_url ? ` (${c.incident_url})` : ''} |`,
    `| Customer | \`${c.customer_id}\` |`,
    `| Journey | ${c.journey} |`,
    `| Severity | ${c.severity} |`,
    `| Detected | ${c.detected_at} |`,
    ...(c.error ? [`| Error | ${c.error.replace(/\|/g, '\\|').slice(0, 500)} |`] : []),
    ...(c.screenshot_url ? [`| Screenshot | ${c.screenshot_url} |`] : []),
    '',
    'Merge this pull request to complete the rollback, or close it if the change is not the cause.',
  ].join('\n');
}

/**
 * Opens a revert pull request through the Git Data API: pull request → merge commit → first parent's tree →
 * new commit on the base head → branch `revert-<pr>-<incident>` → pull request carrying the incident.
 * When the base moved since the merge, only the paths the pull request changed are restored, and only if
 * nobody touched them since (otherwise the revert cannot apply cleanly and fails with `conflict`).
 * Idempotent: an existing branch of the same name means the revert exists; its pull request is returned.
 */
export async function openRevert(
  gh: GithubClient,
  req: OpenRevertRequest,
  deadline: number,
): Promise<{ result: OpenRevertResult; repositoryId: number }> {
  const [owner, repo] = req.repository.split('/') as [string, string];
  const branch = revertBranch(req.pull_number, req.incident_id);
  const api = <T>(method: 'GET' | 'POST', path: string, body?: unknown) =>
    gh.repo<T>(owner, repo, method, path, deadline, body).then((r) => r.data);
  try {
    let repositoryId = 0;
    const existingPull = async (): Promise<OpenRevertResult | null> => {
      const ref = await api<{ object: { sha: string } }>('GET', `/git/ref/heads/${branch}`).catch((err) => {
        if (err instanceof GithubApiError && err.status === 404) return null;
        throw err;
      });
      if (!ref) return null;
      const pulls = await api<Pull[]>('GET', `/pulls?head=${encodeURIComponent(`${owner}:${branch}`)}&state=all`);
      const found = pulls[0];
      const original = await api<Pull>('GET', `/pulls/${req.pull_number}`);
      repositoryId = original.base.repo?.id ?? 0;
      if (found)
        return {
          repository: req.repository,
          pull_number: req.pull_number,
          revert_number: found.number,
          branch,
          url: found.html_url,
          commit_sha: ref.object.sha,
          created: false,
        };
      const pr = await api<Pull>('POST', '/pulls', {
        title: `Revert "${original.title}"`,
        head: branch,
        base: original.base.ref,
        body: revertBody(req, original, original.merge_commit_sha ?? ''),
      });
      return {
        repository: req.repository,
        pull_number: req.pull_number,
        revert_number: pr.number,
        branch,
        url: pr.html_url,
        commit_sha: ref.object.sha,
        created: true,
      };
    };
    const again = await existingPull();
    if (again) return { result: again, repositoryId };

    const pull = await api<Pull>('GET', `/pulls/${req.pull_number}`).catch((err) => {
      if (err instanceof GithubApiError && err.status === 404)
        throw new RevertFailedError(`pull request ${req.repository}#${req.pull_number} does not exist`, 'not_found');
      throw err;
    });
    repositoryId = pull.base.repo?.id ?? 0;
    if (!pull.merged_at || !pull.merge_commit_sha)
      throw new RevertFailedError(
        `pull request ${req.repository}#${req.pull_number} was never merged; there is nothing to revert`,
        'not_merged',
      );
    const mergeSha = pull.merge_commit_sha;
    const merge = await api<GitCommit>('GET', `/git/commits/${mergeSha}`);
    const parentSha = merge.parents[0]?.sha;
    if (!parentSha) throw new RevertFailedError(`merge commit ${mergeSha} has no parent`, 'conflict');
    const parent = await api<GitCommit>('GET', `/git/commits/${parentSha}`);
    const head = await api<{ object: { sha: string } }>('GET', `/git/ref/heads/${pull.base.ref}`);
    const headSha = head.object.sha;

    let treeSha: string;
    if (headSha === mergeSha) {
      treeSha = parent.tree.sha;
    } else {
      const tree = async (sha: string) =>
        new Map(
          (await api<{ tree: TreeItem[] }>('GET', `/git/trees/${sha}?recursive=1`)).tree
            .filter((t) => t.type === 'blob')
            .map((t) => [t.path, t] as const),
        );
      const headCommit = await api<GitCommit>('GET', `/git/commits/${headSha}`);
      const [before, after, now] = await Promise.all([tree(parent.tree.sha), tree(merge.tree.sha), tree(headCommit.tree.sha)]);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p)?.sha !== after.get(p)?.sha);
      const moved = changed.filter((p) => now.get(p)?.sha !== after.get(p)?.sha);
      if (moved.length) {
        throw new RevertFailedError(
          `the revert of ${req.repository}#${req.pull_number} cannot apply cleanly: ${pull.base.ref} moved since the merge and changed ${moved.slice(0, 5).join(', ')}${moved.length > 5 ? ', ...' : ''}`,
          'conflict',
        );
      }
      const entries = changed.map((p) => {
        const old = before.get(p);
        return old
          ? { path: p, mode: old.mode, type: 'blob', sha: old.sha }
          : { path: p, mode: (after.get(p) as TreeItem).mode, type: 'blob', sha: null };
      });
      treeSha = (await api<{ sha: string }>('POST', '/git/trees', { base_tree: headCommit.tree.sha, tree: entries })).sha;
    }
    const commit = await api<{ sha: string }>('POST', '/git/commits', {
      message: `Revert "${pull.title}"\n\nThis reverts commit ${mergeSha} (#${pull.number}).\nPathCanary incident ${req.incident_id}: ${req.context.journey}.`,
      tree: treeSha,
      parents: [headSha],
    });
    try {
      await api('POST', '/git/refs', { ref: `refs/heads/${branch}`, sha: commit.sha });
    } catch (err) {
      // Another process created the same revert between our check and now: use theirs.
      if (err instanceof GithubApiError && err.status === 422) {
        const theirs = await existingPull();
        if (theirs) return { result: theirs, repositoryId };
      }
      throw err;
    }
    const pr = await api<Pull>('POST', '/pulls', {
      title: `Revert "${pull.title}"`,
      head: branch,
      base: pull.base.ref,
      body: revertBody(req, pull, mergeSha),
    });
    return {
      result: {
        repository: req.repository,
        pull_number: req.pull_number,
        revert_number: pr.number,
        branch,
        url: pr.html_url,
        commit_sha: commit.sha,
        created: true,
      },
      repositoryId,
    };
  } catch (err) {
    if (err instanceof RevertFailedError) throw err;
    if (err instanceof GithubApiError) {
      throw new RevertFailedError(
        err.message,
        err.code === 'rate_limited' ? 'rate_limited' : err.code === 'not_found' ? 'not_found' : 'github_error',
        { cause: err },
      );
    }
    throw err;
  }
}
