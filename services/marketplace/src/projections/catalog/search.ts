import { ValidationError } from '@pep/runtime';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { BAYES_M } from '../../domain/review/rating.ts';
import type { ListingRow } from './index.ts';

/**
 * Search over the catalog in PostgreSQL, every step on an index:
 * - typo correction first: each query word that is not a known word of a listing name or tagline is looked up
 *   in `search_words` (its trigram GiST index, nearest neighbours by `word <-> w`), and its closest words
 *   (similarity at least TYPO_SIMILARITY, at most TYPO_ALTERNATIVES) join it as alternatives;
 * - full text: the generated `search_doc` (name weight A, tagline B, description C) against the tsquery of
 *   every word (or its corrections), the last as a prefix for as-you-type (`(lead) & (sy:* | sync)`), on the
 *   GIN index; ranked with `ts_rank`;
 * - an exact (case-insensitive) name match ranks first (an index on `lower(name)`), then `word_similarity` of the
 *   whole query and the name, computed on the matched listings only, orders a corrected query's hits.
 * A query that uses web search syntax (a quoted phrase, `-word`, `or`) means exactly that: it is matched with
 * `websearch_to_tsquery` alone, without the prefix and typo alternatives (which would bring back what `-word`
 * excludes).
 */
export const TYPO_SIMILARITY = 0.1;
export const TYPO_ALTERNATIVES = 3;
/** Words shorter than this are not corrected (too few trigrams to tell a typo from another word). */
const MIN_TYPO_WORD = 3;
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

/**
 * `qw`: the query's words; `alts`: each word as typed (the last as a prefix) plus, for a word no listing name or
 * tagline has, its nearest dictionary words; `tsq`: the AND over words of the OR of their alternatives.
 * Words are letters and digits only (queryWords, dictionaryWords), so nothing in them is a tsquery operator.
 */
function typoCorrectedQuery(words: string[]): RawBuilder<unknown> {
  return sql`
    qw as (select w, ord::int as ord from unnest(${words}::text[]) with ordinality as t(w, ord)),
    alts as (
      select ord, w || case when ord = ${words.length} then ':*' else '' end as alt from qw
      union
      select qw.ord, c.word
        from qw
        cross join lateral (
          select sw.word from search_words sw
           where length(qw.w) >= ${MIN_TYPO_WORD}
             and not exists (select 1 from search_words k where k.word = qw.w)
           order by sw.word <-> qw.w
           limit ${TYPO_ALTERNATIVES}
        ) c
       where similarity(c.word, qw.w) >= ${TYPO_SIMILARITY}
    ),
    tsq as (
      select to_tsquery('english', string_agg(g, ' & ' order by ord)) as q
        from (select ord, '(' || string_agg(alt, ' | ') || ')' as g from alts group by ord) grouped
    ),`;
}

type SearchResultRow = {
  page: (ListingRow & { k: number })[] | null;
  total: number;
  categories: FacetCount[] | null;
  pricing: FacetCount[] | null;
  official: FacetCount[] | null;
  rating: FacetCount[] | null;
};

/** The one statement a search page runs (bench/marketplace/explain.ts explains it). */
export function searchStatement(input: SearchInput): RawBuilder<SearchResultRow> {
  const words = input.q ? queryWords(input.q) : [];
  const text = words.length > 0 ? input.q : undefined;
  const sort: SortKey = input.sort ?? (text ? 'relevance' : 'installs');

  const where: RawBuilder<unknown>[] = [sql`l.status <> 'retired'`, sql`not l.unlisted`];
  let rank: RawBuilder<unknown> = sql`0::float8`;
  let ctes: RawBuilder<unknown> = sql``;
  if (text && usesSearchSyntax(text)) {
    const web = sql`websearch_to_tsquery('english', ${text})`;
    where.push(sql`l.search_doc @@ ${web}`);
    rank = sql`((lower(l.name) = ${words.join(' ')})::int * 10 + ts_rank(l.search_doc, ${web}) * 2)::float8`;
  } else if (text) {
    const lower = words.join(' ');
    ctes = typoCorrectedQuery(words);
    where.push(sql`l.search_doc @@ (select q from tsq)`);
    rank = sql`((lower(l.name) = ${lower})::int * 10 + ts_rank(l.search_doc, (select q from tsq)) * 2 + word_similarity(${lower}, lower(l.name)))::float8`;
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
          sql`coalesce((rating_sum + ${BAYES_M} * (select rating_sum::float8 / nullif(review_count, 0) from rating_totals where id = 1)) / (review_count + ${BAYES_M}), 0)::float8`
        : sort === 'installs'
          ? sql`active_installs::float8`
          : sort === 'trending'
            ? sql`trend_weight`
            : sql`extract(epoch from published_at)::float8`;

  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  const page = after ? sql`where (k < ${after[0]} or (k = ${after[0]} and listing_id > ${after[1]}))` : sql``;

  return sql<SearchResultRow>`
    with ${ctes} matched as (
      -- only what the facets, the filters and the sort key need: the page's own columns are read for its rows only
      -- (stats by primary key per matched listing: a join made the planner hash every listing's stats)
      select l.listing_id, l.categories, l.pricing, l.official, l.published_at,
             coalesce((select s.active_installs from listing_stats s where s.listing_id = l.listing_id), 0) as active_installs,
             coalesce((select s.trend_weight from listing_stats s where s.listing_id = l.listing_id), 0)::float8 as trend_weight,
             coalesce(r.review_count, 0) as review_count, coalesce(r.rating_sum, 0) as rating_sum,
             ${rank} as rank
        from listings l
        left join lateral (select review_count, rating_sum from listing_ratings r where r.listing_id = l.listing_id) r on true
       where ${sql.join(where, sql` and `)}
    ),
    keyed as (select m.listing_id, ${key} as k from matched m),
    page_keys as (select * from keyed ${page} order by k desc, listing_id asc limit ${input.limit + 1}),
    page as (
      select l.listing_id, l.application_id, l.partner_id, p.name as partner_name, l.name, l.tagline, l.description, l.description_html,
             l.categories, l.pricing, l.official, l.status, l.status_reason, l.privacy_url, l.terms_url,
             l.logo_url, l.screenshots, l.support_email, l.documentation_url, l.pricing_plans, l.featured_from, l.featured_until, l.unlisted,
             l.published_at, l.updated_at,
             coalesce(s.active_installs, 0) as active_installs,
             coalesce(s.total_installs, 0) as total_installs,
             coalesce(s.trend_weight, 0)::float8 as trend_weight,
             coalesce(r.review_count, 0) as review_count, coalesce(r.rating_sum, 0) as rating_sum,
             coalesce(r.r1, 0) as r1, coalesce(r.r2, 0) as r2, coalesce(r.r3, 0) as r3, coalesce(r.r4, 0) as r4, coalesce(r.r5, 0) as r5,
             pk.k
        from page_keys pk
        join listings l on l.listing_id = pk.listing_id
        left join partners p on p.partner_id = l.partner_id
        left join listing_stats s on s.listing_id = l.listing_id
        left join listing_ratings r on r.listing_id = l.listing_id
    )
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
  `;
}

export async function searchListings(db: Kysely<MarketplaceDB>, input: SearchInput): Promise<SearchOutput> {
  const result = await searchStatement(input).execute(db);
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
