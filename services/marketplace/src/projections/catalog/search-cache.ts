import { type Kysely, sql } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { INSTALLS_PROJECTION } from '../installs/index.ts';
import { marketplaceMeanRating, REVIEWS_PROJECTION } from '../reviews/index.ts';
import { CATALOG_PROJECTION } from './index.ts';
import { type SearchInput, type SearchOutput, searchListings } from './search.ts';

/** What one search page shows: the rows, facets and the marketplace mean (C) they were ranked with. */
export interface SearchPage {
  result: SearchOutput;
  prior: number | null;
}

/**
 * Search results cached in the process, keyed by the query AND the checkpoints of the read models a result is
 * made of (catalog, installs, reviews). One indexed read of those three checkpoints per search tells whether
 * anything changed since: a new event in any of them is a new key, so a cached page is never older than the
 * read models (a command that waited for its projection sees its own write), whichever replica applied it.
 * Concurrent misses of one key share one query. Least recently used pages go first beyond `max`.
 * Times are not part of the key: trending scores and featured windows are computed from the rows per answer.
 */
export function createSearchCache(db: Kysely<MarketplaceDB>, opts: { max?: number } = {}) {
  const max = opts.max ?? 256;
  const pages = new Map<string, Promise<SearchPage>>();
  let hits = 0;
  let misses = 0;

  const positions = async (): Promise<string> => {
    const r = await sql<{ v: string | null }>`
      select string_agg(name || ':' || seq, ',' order by name) as v from projection_checkpoints
       where name in (${CATALOG_PROJECTION}, ${INSTALLS_PROJECTION}, ${REVIEWS_PROJECTION})`.execute(db);
    return r.rows[0]?.v ?? '';
  };

  return {
    async search(input: SearchInput): Promise<SearchPage> {
      const key = `${await positions()}|${JSON.stringify(input)}`;
      const cached = pages.get(key);
      if (cached) {
        hits++;
        pages.delete(key);
        pages.set(key, cached);
        return cached;
      }
      misses++;
      const page = Promise.all([searchListings(db, input), marketplaceMeanRating(db)]).then(([result, prior]) => ({ result, prior }));
      pages.set(key, page);
      // a failed query is not kept: the next search asks again
      page.catch(() => pages.delete(key));
      while (pages.size > max) {
        const oldest = pages.keys().next().value;
        if (oldest === undefined) break;
        pages.delete(oldest);
      }
      return page;
    },
    stats: () => ({ hits, misses, size: pages.size }),
  };
}
export type SearchCache = ReturnType<typeof createSearchCache>;
