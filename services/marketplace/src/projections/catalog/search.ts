import { ValidationError } from '@pep/runtime';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { BAYES_M } from '../../domain/review/rating.ts';
import type { ListingRow } from './index.ts';

/**
 * Search over the catalog in PostgreSQL:
 * - full text: the generated `search_doc` (name weight A, tagline B, description C) against
 *   `websearch_to_tsquery` (quoted phrases, `or`, `-word`), ranked with `ts_rank` (A counts 10× C);
 * - as-you-type: every word of the query, the last as a prefix (`to_tsquery('sla:*')`);
 * - typos: `word_similarity` (pg_trgm) of the query against the name, so a transposed or missing letter still
 *   finds the listing;
 * - an exact (case-insensitive) name match ranks first.
 * A query that uses web search syntax (a quoted phrase, `-word`, `or`) means exactly that: it is matched with
 * `websearch_to_tsquery` alone, without the prefix and typo alternatives (which would bring back what `-word`
 * excludes).
 */
export const TYPO_SIMILARITY = 0.45;
const MAX_WORDS = 12;

export type SortKey = 'relevance' | 'rating' | 'installs' | 'trending' | 'newest';

export interface SearchInput {
  q?: string | undefined;
  category?: string | undefined;
  pricing?: string | undefined;
  official?: boolean | undefined;
  min_rating?: number | undefined;
  sort?: SortKey | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface SearchOutput {
  rows: ListingRow[];
  has_more: boolean;
  next_cursor: string | null;
  total: number;
  facets: { category: FacetCount[]; pricing: FacetCount[]; official: FacetCount[]; rating: FacetCount[] };
}
export interface FacetCount {
  value: string;
  count: number;
}

/** Words of a query as the prefix search uses them (letters and digits only: no tsquery operators get through). */
export function queryWords(q: string): string[] {
  return (q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, MAX_WORDS);
}

/** Whether a query uses web search syntax (quotes, exclusion, `or`). */
export function usesSearchSyntax(q: string): boolean {
  return /"|(^|\s)-\S|\sor\s/i.test(q);
}

/** `a & b & c:*`: every word, the last one as a prefix. */
export function prefixQuery(words: string[]): string {
  return words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ');
}

type Cursor = [number, string];

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  const refused = new ValidationError([{ path: 'cursor', message: 'not a cursor this search returned' }]);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch (err) {
    refused.cause = err;
    throw refused;
  }
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && Number.isFinite(v[0]) && typeof v[1] === 'string') {
    return [v[0], v[1]];
  }
  throw refused;
}

export async function searchListings(db: Kysely<MarketplaceDB>, input: SearchInput): Promise<SearchOutput> {
  const words = input.q ? queryWords(input.q) : [];
  const text = words.length > 0 ? input.q : undefined;
  const sort: SortKey = input.sort ?? (text ? 'relevance' : 'installs');

  const where: RawBuilder<unknown>[] = [sql`l.status <> 'retired'`, sql`not l.unlisted`];
  let rank: RawBuilder<unknown> = sql`0::float8`;
  if (text) {
    const lower = words.join(' ');
    const web = sql`websearch_to_tsquery('english', ${text})`;
    const prefix = sql`to_tsquery('english', ${prefixQuery(words)})`;
    where.push(
      usesSearchSyntax(text)
        ? sql`l.search_doc @@ ${web}`
        : sql`(l.search_doc @@ ${web} or l.search_doc @@ ${prefix} or word_similarity(${lower}, lower(l.name)) >= ${TYPO_SIMILARITY})`,
    );
    rank = sql`((lower(l.name) = ${lower})::int * 10 + ts_rank(l.search_doc, ${web}) * 2 + ts_rank(l.search_doc, ${prefix}) + word_similarity(${lower}, lower(l.name)))::float8`;
  }
  if (input.category) where.push(sql`l.categories @> array[${input.category}]::text[]`);
  if (input.pricing) where.push(sql`l.pricing = ${input.pricing}`);
  if (input.official !== undefined) where.push(sql`l.official = ${input.official}`);
  if (input.min_rating !== undefined) {
    where.push(sql`coalesce(r.review_count, 0) > 0 and r.rating_sum::float8 / r.review_count >= ${input.min_rating}`);
  }

  const key: RawBuilder<unknown> =
    sort === 'relevance'
      ? sql`rank`
      : sort === 'rating'
        ? // the weighted rating (domain/review/rating.ts); a listing without reviews sits at the prior C
          sql`coalesce((rating_sum + ${BAYES_M} * (select sum(rating_sum)::float8 / nullif(sum(review_count), 0) from listing_ratings)) / (review_count + ${BAYES_M}), 0)::float8`
        : sort === 'installs'
          ? sql`active_installs::float8`
          : sort === 'trending'
            ? sql`trend_weight`
            : sql`extract(epoch from published_at)::float8`;

  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  const page = after ? sql`where (k < ${after[0]} or (k = ${after[0]} and listing_id > ${after[1]}))` : sql``;

  const result = await sql<{
    page: (ListingRow & { k: number })[] | null;
    total: number;
    categories: FacetCount[] | null;
    pricing: FacetCount[] | null;
    official: FacetCount[] | null;
    rating: FacetCount[] | null;
  }>`
    with matched as (
      select l.listing_id, l.application_id, l.partner_id, p.name as partner_name, l.name, l.tagline, l.description,
             l.categories, l.pricing, l.official, l.status, l.status_reason, l.privacy_url, l.terms_url,
             l.logo_url, l.screenshots, l.support_email, l.documentation_url, l.pricing_plans, l.featured_from, l.featured_until, l.unlisted,
             l.published_at, l.updated_at,
             coalesce(s.active_installs, 0) as active_installs,
             coalesce(s.total_installs, 0) as total_installs,
             coalesce(s.trend_weight, 0)::float8 as trend_weight,
             coalesce(r.review_count, 0) as review_count, coalesce(r.rating_sum, 0) as rating_sum,
             coalesce(r.r1, 0) as r1, coalesce(r.r2, 0) as r2, coalesce(r.r3, 0) as r3, coalesce(r.r4, 0) as r4, coalesce(r.r5, 0) as r5,
             ${rank} as rank
        from listings l
        left join partners p on p.partner_id = l.partner_id
        left join listing_stats s on s.listing_id = l.listing_id
        left join listing_ratings r on r.listing_id = l.listing_id
       where ${sql.join(where, sql` and `)}
    ),
    keyed as (select m.*, ${key} as k from matched m),
    page as (select * from keyed ${page} order by k desc, listing_id asc limit ${input.limit + 1})
    select
      (select json_agg(page order by k desc, listing_id asc) from page) as page,
      (select count(*)::int from matched) as total,
      (select json_agg(json_build_object('value', value, 'count', n) order by n desc, value)
         from (select c as value, count(*)::int as n from matched, unnest(categories) c group by c) x) as categories,
      (select json_agg(json_build_object('value', value, 'count', n) order by n desc, value)
         from (select coalesce(pricing, 'unspecified') as value, count(*)::int as n from matched group by 1) x) as pricing,
      (select json_agg(json_build_object('value', value, 'count', n) order by n desc, value)
         from (select official::text as value, count(*)::int as n from matched group by 1) x) as official,
      (select json_agg(json_build_object('value', value, 'count', n) order by value desc)
         from (select case when review_count = 0 then 'unrated' else least(floor(rating_sum::float8 / review_count), 4)::int::text end as value,
                      count(*)::int as n
                 from matched group by 1) x) as rating
  `.execute(db);
  const r = result.rows[0];
  const rows = r?.page ?? [];
  const has_more = rows.length > input.limit;
  const shown = rows.slice(0, input.limit);
  const last = shown[shown.length - 1];
  return {
    rows: shown,
    has_more,
    next_cursor: has_more && last ? encodeCursor([last.k, last.listing_id]) : null,
    total: r?.total ?? 0,
    facets: { category: r?.categories ?? [], pricing: r?.pricing ?? [], official: r?.official ?? [], rating: r?.rating ?? [] },
  };
}
