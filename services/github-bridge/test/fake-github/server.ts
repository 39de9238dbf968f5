import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import {
  type Commit,
  commitJson,
  type Pull,
  pullJson,
  putBlob,
  putCommit,
  putTree,
  type Repo,
  type TreeEntry,
  treeJson,
  treeOfRef,
} from './git-model.ts';
import { createOpenApiValidator, type Violation } from './openapi-validator.ts';

export type { Pull, Repo } from './git-model.ts';

/**
 * A fake api.github.com on loopback for github-bridge's tests. Every request is validated against GitHub's
 * published OpenAPI description (violations are answered 422 and recorded); it keeps real git state
 * (blobs, trees, commits, refs, pull requests), authenticates the App JWT (RS256, verified with the App's
 * public key) and installation tokens, and sends rate-limit headers, with switches for exhausted and
 * secondary limits.
 */
/**
 * What the handled operations read from a request body. The body was checked against the operation's schema
 * in GitHub's OpenAPI description before it gets here (a violation is answered 422), so each operation's
 * fields are present; `tree` is a sha (create-commit) or a list of entries (create-tree).
 */
interface RequestBody {
  head: string;
  base: string;
  title: string;
  body?: string | null;
  base_tree?: string;
  tree: unknown;
  parents: unknown;
  message: string;
  ref: string;
  sha: string;
}

export interface FakeGithub {
  url: string;
  repos: Map<string, Repo>;
  violations: Violation[];
  /** Every request: method, path, operation id and status. */
  log: { method: string; path: string; operationId: string | null; status: number }[];
  tokensIssued: { installationId: number; token: string; expires_at: string }[];
  /** Seconds installation tokens live (GitHub: 3600). */
  tokenTtlSec: number;
  createRepo(fullName: string, files: Record<string, string>, installationId?: number): Repo;
  /** Commits file changes (null deletes) on a branch, creating the branch from main when it is new. */
  commit(fullName: string, branch: string, changes: Record<string, string | null>, message: string): string;
  openPull(fullName: string, head: string, title: string, base?: string): Pull;
  /** Merges a pull request with a merge commit (parents: base head, head branch head). */
  merge(fullName: string, number: number): string;
  fileAt(fullName: string, ref: string, path: string): string | undefined;
  /** The next `count` requests answer 403 with `retry-after` (a secondary rate limit). */
  secondaryLimit(count: number, retryAfterSec: number): void;
  /** Installation tokens have `remaining` requests left until `resetInSec`. */
  primaryLimit(remaining: number, resetInSec: number): void;
  close(): Promise<void>;
}

export async function startFakeGithub(opts: { appId: number; publicKey: KeyObject }): Promise<FakeGithub> {
  const validator = createOpenApiValidator();
  const repos = new Map<string, Repo>();
  const violations: Violation[] = [];
  const log: FakeGithub['log'] = [];
  const tokens = new Map<string, { installationId: number; expires: number }>();
  const tokensIssued: FakeGithub['tokensIssued'] = [];
  let secondary = { count: 0, retryAfter: 1 };
  let primary = { remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600, limited: false };
  let nextId = 1000;
  let url = '';

  const fake = {
    repos,
    violations,
    log,
    tokensIssued,
    tokenTtlSec: 3600,
    createRepo(fullName: string, files: Record<string, string>, installationId = 77): Repo {
      const [owner, name] = fullName.split('/') as [string, string];
      const repo: Repo = {
        id: nextId++,
        owner,
        name,
        installationId,
        refs: new Map(),
        forkPoints: new Map(),
        commits: new Map(),
        trees: new Map(),
        blobs: new Map(),
        pulls: new Map(),
        nextNumber: 1,
      };
      const entries = new Map<string, TreeEntry>();
      for (const [p, c] of Object.entries(files)) entries.set(p, { mode: '100644', type: 'blob', sha: putBlob(repo, c) });
      repo.refs.set('heads/main', putCommit(repo, putTree(repo, entries), [], 'Initial commit'));
      repos.set(fullName.toLowerCase(), repo);
      return repo;
    },
    commit(fullName: string, branch: string, changes: Record<string, string | null>, message: string): string {
      const repo = repos.get(fullName.toLowerCase()) as Repo;
      if (!repo.refs.has(`heads/${branch}`)) {
        const main = repo.refs.get('heads/main') as string;
        repo.refs.set(`heads/${branch}`, main);
        repo.forkPoints.set(branch, main);
      }
      const entries = treeOfRef(repo, branch);
      for (const [p, c] of Object.entries(changes)) {
        if (c === null) entries.delete(p);
        else entries.set(p, { mode: '100644', type: 'blob', sha: putBlob(repo, c) });
      }
      const sha = putCommit(repo, putTree(repo, entries), [repo.refs.get(`heads/${branch}`) as string], message);
      repo.refs.set(`heads/${branch}`, sha);
      return sha;
    },
    openPull(fullName: string, head: string, title: string, base = 'main'): Pull {
      const repo = repos.get(fullName.toLowerCase()) as Repo;
      const pull: Pull = {
        id: nextId++,
        number: repo.nextNumber++,
        title,
        body: null,
        head,
        base,
        state: 'open',
        user: 'dev-alice',
        created_at: new Date(Date.now() - 3_600_000).toISOString(),
        merged_at: null,
        closed_at: null,
        merge_commit_sha: null,
      };
      repo.pulls.set(pull.number, pull);
      return pull;
    },
    merge(fullName: string, number: number): string {
      const repo = repos.get(fullName.toLowerCase()) as Repo;
      const pull = repo.pulls.get(number) as Pull;
      const fork = repo.forkPoints.get(pull.head) as string;
      const forkTree = repo.trees.get((repo.commits.get(fork) as Commit).tree) as Map<string, TreeEntry>;
      const headTree = treeOfRef(repo, pull.head);
      const merged = treeOfRef(repo, pull.base);
      for (const p of new Set([...forkTree.keys(), ...headTree.keys()])) {
        const a = forkTree.get(p)?.sha;
        const b = headTree.get(p);
        if (a === b?.sha) continue;
        if (b) merged.set(p, b);
        else merged.delete(p);
      }
      const baseHead = repo.refs.get(`heads/${pull.base}`) as string;
      const sha = putCommit(
        repo,
        putTree(repo, merged),
        [baseHead, repo.refs.get(`heads/${pull.head}`) as string],
        `Merge pull request #${number} from ${repo.owner}/${pull.head}`,
      );
      repo.refs.set(`heads/${pull.base}`, sha);
      Object.assign(pull, {
        state: 'closed',
        merged_at: new Date().toISOString(),
        closed_at: new Date().toISOString(),
        merge_commit_sha: sha,
      });
      return sha;
    },
    fileAt(fullName: string, ref: string, path: string): string | undefined {
      const repo = repos.get(fullName.toLowerCase()) as Repo;
      const e = treeOfRef(repo, ref).get(path);
      return e ? repo.blobs.get(e.sha) : undefined;
    },
    secondaryLimit(count: number, retryAfterSec: number): void {
      secondary = { count, retryAfter: retryAfterSec };
    },
    primaryLimit(remaining: number, resetInSec: number): void {
      primary = { remaining, reset: Math.floor(Date.now() / 1000) + resetInSec, limited: true };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse, u: URL, body: unknown) {
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        .end(json === null ? '' : JSON.stringify(json));
      return status;
    };
    const v = validator.validate(req.method ?? 'GET', u, body);
    const opId = v.operation?.operationId ?? null;
    if (v.errors.length) {
      violations.push({ method: req.method ?? '', path: u.pathname + u.search, operation: opId, errors: v.errors });
      return {
        opId,
        status: send(v.operation ? 422 : 404, { message: 'Request does not follow the OpenAPI description', errors: v.errors }),
      };
    }
    const op = v.operation!;
    const p = op.params;
    const auth = req.headers.authorization ?? '';
    const appOps = new Set(['apps/get-repo-installation', 'apps/create-installation-access-token']);
    if (appOps.has(op.operationId)) {
      const jwt = auth.replace(/^Bearer /, '');
      try {
        await jwtVerify(jwt, opts.publicKey, { issuer: String(opts.appId), algorithms: ['RS256'] });
      } catch (err) {
        return { opId, status: send(401, { message: `A JSON web token could not be decoded: ${(err as Error).message}` }) };
      }
    }
    const repo = p.owner && p.repo ? repos.get(`${p.owner}/${p.repo}`.toLowerCase()) : undefined;
    if (!appOps.has(op.operationId)) {
      const token = auth.replace(/^(token|Bearer) /, '');
      const t = tokens.get(token);
      if (!t || t.expires < Date.now() || (repo && repo.installationId !== t.installationId))
        return { opId, status: send(401, { message: 'Bad credentials' }) };
      const rl: Record<string, string> = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(Math.max(0, primary.remaining)),
        'x-ratelimit-reset': String(primary.reset),
        'x-ratelimit-resource': 'core',
      };
      if (primary.limited && primary.reset * 1000 <= Date.now())
        primary = { remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600, limited: false };
      if (secondary.count > 0) {
        secondary.count--;
        return {
          opId,
          status: send(
            403,
            { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
            { ...rl, 'retry-after': String(secondary.retryAfter) },
          ),
        };
      }
      if (primary.remaining <= 0)
        return {
          opId,
          status: send(403, { message: 'API rate limit exceeded for installation.' }, { ...rl, 'x-ratelimit-remaining': '0' }),
        };
      primary.remaining--;
      rl['x-ratelimit-remaining'] = String(primary.remaining);
      res.setHeader('x-ratelimit-limit', rl['x-ratelimit-limit'] as string);
      res.setHeader('x-ratelimit-remaining', rl['x-ratelimit-remaining'] as string);
      res.setHeader('x-ratelimit-reset', rl['x-ratelimit-reset'] as string);
    }
    if (p.owner && p.repo && !repo) return { opId, status: send(404, { message: 'Not Found' }) };
    const b = (body ?? {}) as RequestBody;
    switch (op.operationId) {
      case 'apps/get-repo-installation':
        return {
          opId,
          status: send(200, {
            id: repo!.installationId,
            app_id: opts.appId,
            account: { login: repo!.owner, id: 1 },
            repository_selection: 'all',
          }),
        };
      case 'apps/create-installation-access-token': {
        const installationId = Number(p.installation_id);
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        const expires = Date.now() + fake.tokenTtlSec * 1000;
        tokens.set(token, { installationId, expires });
        const expires_at = new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z');
        tokensIssued.push({ installationId, token, expires_at });
        return {
          opId,
          status: send(201, { token, expires_at, permissions: { contents: 'write', pull_requests: 'write' }, repository_selection: 'all' }),
        };
      }
      case 'pulls/get': {
        const pull = repo!.pulls.get(Number(p.pull_number));
        return { opId, status: pull ? send(200, pullJson(url, repo!, pull)) : send(404, { message: 'Not Found' }) };
      }
      case 'pulls/list': {
        const head = u.searchParams.get('head');
        const state = u.searchParams.get('state') ?? 'open';
        const list = [...repo!.pulls.values()].filter(
          (x) => (!head || `${repo!.owner}:${x.head}` === head) && (state === 'all' || x.state === state),
        );
        return {
          opId,
          status: send(
            200,
            list.map((x) => pullJson(url, repo!, x)),
          ),
        };
      }
      case 'pulls/create': {
        if (!repo!.refs.has(`heads/${b.head}`) || !repo!.refs.has(`heads/${b.base}`)) {
          return {
            opId,
            status: send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] }),
          };
        }
        if ([...repo!.pulls.values()].some((x) => x.head === b.head && x.state === 'open')) {
          return {
            opId,
            status: send(422, {
              message: 'Validation Failed',
              errors: [{ message: `A pull request already exists for ${repo!.owner}:${b.head}.` }],
            }),
          };
        }
        const pull = fake.openPull(`${repo!.owner}/${repo!.name}`, b.head, b.title, b.base);
        pull.body = b.body ?? null;
        pull.user = 'pathcanary-rollback[bot]';
        pull.created_at = new Date().toISOString();
        return { opId, status: send(201, pullJson(url, repo!, pull)) };
      }
      case 'git/get-commit': {
        const c = repo!.commits.get(p.commit_sha as string);
        return { opId, status: c ? send(200, commitJson(c)) : send(404, { message: 'Not Found' }) };
      }
      case 'git/get-tree': {
        const t = repo!.trees.get(p.tree_sha as string);
        return { opId, status: t ? send(200, treeJson(p.tree_sha as string, t)) : send(404, { message: 'Not Found' }) };
      }
      case 'git/create-tree': {
        const base = b.base_tree ? repo!.trees.get(b.base_tree) : new Map<string, TreeEntry>();
        if (!base) return { opId, status: send(422, { message: 'Invalid tree info' }) };
        const entries = new Map(base);
        for (const e of b.tree as { path: string; mode: string; sha?: string | null; content?: string }[]) {
          if (e.sha === null) entries.delete(e.path);
          else if (e.content !== undefined) entries.set(e.path, { mode: e.mode, type: 'blob', sha: putBlob(repo!, e.content) });
          else if (e.sha && repo!.blobs.has(e.sha)) entries.set(e.path, { mode: e.mode, type: 'blob', sha: e.sha });
          else return { opId, status: send(422, { message: `Invalid tree info: ${e.path}` }) };
        }
        const sha = putTree(repo!, entries);
        return { opId, status: send(201, treeJson(sha, entries)) };
      }
      case 'git/create-commit': {
        if (!repo!.trees.has(String(b.tree)) || !(b.parents as string[]).every((x) => repo!.commits.has(x)))
          return { opId, status: send(422, { message: 'Tree or parent SHA does not exist' }) };
        const sha = putCommit(repo!, String(b.tree), b.parents as string[], b.message);
        return { opId, status: send(201, commitJson(repo!.commits.get(sha) as Commit)) };
      }
      case 'git/get-ref': {
        const sha = repo!.refs.get(p.ref as string);
        return {
          opId,
          status: sha
            ? send(200, { ref: `refs/${p.ref}`, node_id: 'x', url: '', object: { sha, type: 'commit', url: '' } })
            : send(404, { message: 'Not Found' }),
        };
      }
      case 'git/create-ref': {
        const ref = String(b.ref).replace(/^refs\//, '');
        if (repo!.refs.has(ref)) return { opId, status: send(422, { message: 'Reference already exists' }) };
        if (!repo!.commits.has(b.sha)) return { opId, status: send(422, { message: 'Object does not exist' }) };
        repo!.refs.set(ref, b.sha);
        return { opId, status: send(201, { ref: b.ref, node_id: 'x', url: '', object: { sha: b.sha, type: 'commit', url: '' } }) };
      }
      default:
        return { opId, status: send(501, { message: `${op.operationId} is not implemented by the fake` }) };
    }
  }

  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let raw = '';
    for await (const c of req) raw += c;
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"Problems parsing JSON"}');
      return;
    }
    try {
      const r = await handle(req, res, u, body);
      log.push({ method: req.method ?? '', path: u.pathname + u.search, operationId: r.opId, status: r.status });
    } catch (err) {
      res.writeHead(500).end(JSON.stringify({ message: (err as Error).message }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as FakeGithub;
}
