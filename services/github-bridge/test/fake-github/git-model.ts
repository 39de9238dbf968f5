import { createHash, randomBytes } from 'node:crypto';

/** The fake GitHub's git state (blobs, trees, commits, refs, pull requests) and how the REST API shows it. */
export interface TreeEntry {
  mode: string;
  type: 'blob';
  sha: string;
}
export interface Commit {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  date: string;
}
export interface Pull {
  id: number;
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  user: string;
  created_at: string;
  merged_at: string | null;
  closed_at: string | null;
  merge_commit_sha: string | null;
}
export interface Repo {
  id: number;
  owner: string;
  name: string;
  installationId: number;
  refs: Map<string, string>;
  forkPoints: Map<string, string>;
  commits: Map<string, Commit>;
  trees: Map<string, Map<string, TreeEntry>>;
  blobs: Map<string, string>;
  pulls: Map<number, Pull>;
  nextNumber: number;
}

export const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

export const putTree = (repo: Repo, entries: Map<string, TreeEntry>) => {
  const sorted = [...entries.entries()].sort(([a], [b]) => a.localeCompare(b));
  const sha = sha1(`tree ${JSON.stringify(sorted)}`);
  repo.trees.set(sha, new Map(sorted));
  return sha;
};
export const putBlob = (repo: Repo, content: string) => {
  const sha = sha1(`blob ${Buffer.byteLength(content)}\0${content}`);
  repo.blobs.set(sha, content);
  return sha;
};
export const putCommit = (repo: Repo, tree: string, parents: string[], message: string) => {
  const date = new Date().toISOString();
  const sha = sha1(`commit ${tree} ${parents.join(',')} ${message} ${date} ${randomBytes(4).toString('hex')}`);
  repo.commits.set(sha, { sha, tree, parents, message, date });
  return sha;
};
export const treeOfRef = (repo: Repo, branch: string) => {
  const head = repo.refs.get(`heads/${branch}`);
  const c = head ? repo.commits.get(head) : undefined;
  return new Map(c ? repo.trees.get(c.tree) : []);
};

/** A pull request as the REST API shows it (`apiUrl`: where the fake answers). */
export const pullJson = (apiUrl: string, repo: Repo, p: Pull) => ({
  id: p.id,
  number: p.number,
  state: p.state,
  title: p.title,
  body: p.body,
  user: { login: p.user, id: 1, type: 'User' },
  html_url: `https://github.com/${repo.owner}/${repo.name}/pull/${p.number}`,
  url: `${apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${p.number}`,
  merged: p.merged_at !== null,
  merged_at: p.merged_at,
  closed_at: p.closed_at,
  created_at: p.created_at,
  updated_at: p.merged_at ?? p.created_at,
  merge_commit_sha: p.merge_commit_sha,
  base: { ref: p.base, sha: repo.refs.get(`heads/${p.base}`) ?? null, repo: { id: repo.id, full_name: `${repo.owner}/${repo.name}` } },
  head: { ref: p.head, sha: repo.refs.get(`heads/${p.head}`) ?? null, label: `${repo.owner}:${p.head}` },
});
export const commitJson = (c: Commit) => ({
  sha: c.sha,
  tree: { sha: c.tree, url: '' },
  parents: c.parents.map((sha) => ({ sha, url: '', html_url: '' })),
  message: c.message,
  author: { name: 'dev', email: 'dev@example.com', date: c.date },
  committer: { name: 'dev', email: 'dev@example.com', date: c.date },
});
export const treeJson = (sha: string, t: Map<string, TreeEntry>) => ({
  sha,
  truncated: false,
  tree: [...t.entries()].map(([path, e]) => ({ path, mode: e.mode, type: e.type, sha: e.sha })),
});
