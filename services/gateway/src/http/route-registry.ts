import { Injectable } from '@nestjs/common';

interface Entry {
  method: string;
  path: string;
  segments: string[];
}

/**
 * Every route the gateway serves (method + Fastify-style path). Used to tell "no such resource" (404) from
 * "no such method on this resource" (405 with `Allow`), and by the route table test.
 */
@Injectable()
export class RouteRegistry {
  private readonly entries: Entry[] = [];

  add(method: string, path: string): void {
    const m = method.toUpperCase();
    if (this.entries.some((e) => e.method === m && e.path === path)) throw new Error(`route ${m} ${path} registered twice`);
    this.entries.push({ method: m, path, segments: path.split('/') });
  }

  list(): { method: string; path: string }[] {
    return this.entries.map(({ method, path }) => ({ method, path }));
  }

  /** Methods served for a concrete URL path (`/v1/partners/prt_1`); empty when nothing matches. */
  allowedMethods(urlPath: string): string[] {
    const parts = urlPath.split('/');
    const methods = new Set<string>();
    for (const e of this.entries) if (segmentsMatch(e.segments, parts)) methods.add(e.method);
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}

export function segmentsMatch(pattern: string[], parts: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '*') return true;
    const part = parts[i];
    if (part === undefined) return false;
    if (p.startsWith(':')) {
      if (part === '') return false;
      continue;
    }
    if (p !== part) return false;
  }
  return pattern.length === parts.length;
}
