import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { CATEGORIES_PROJECTION, CATEGORY_AGGREGATE, isCategoryEvent } from '../../domain/category/category.ts';

export { CATEGORIES_PROJECTION };

/** The admin-managed category list, from the category aggregates' events. */
export function categoriesProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: CATEGORIES_PROJECTION,
    filterSubject: aggregateFilter(prefix, CATEGORY_AGGREGATE),
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isCategoryEvent(e)) continue;
        if (e.type === 'marketplace.category_removed') {
          await trx.deleteFrom('categories').where('slug', '=', e.data.slug).execute();
          continue;
        }
        const row = { name: e.data.name, parent: e.data.parent, seq: e.seq };
        await trx
          .insertInto('categories')
          .values({ slug: e.data.slug, ...row })
          .onConflict((oc) => oc.column('slug').doUpdateSet(row))
          .execute();
      }
    },
    tables: ['categories'],
    async reset(trx) {
      await trx.deleteFrom('categories').execute();
    },
  };
}

export interface CategoryRow {
  slug: string;
  name: string;
  parent: string | null;
  listings: number;
}

/** Every category with its count of listed listings, parents before their children, then by name. */
export async function listCategories(db: Kysely<MarketplaceDB>): Promise<CategoryRow[]> {
  return db
    .selectFrom('categories as c')
    .select([
      'c.slug',
      'c.name',
      'c.parent',
      sql<number>`(select count(*)::int from listings l where l.status <> 'retired' and not l.unlisted and l.categories @> array[c.slug])`.as(
        'listings',
      ),
    ])
    .orderBy(sql`coalesce(c.parent, c.slug)`)
    .orderBy(sql`c.parent is not null`)
    .orderBy('c.name')
    .execute();
}

export async function knownCategories(db: Kysely<MarketplaceDB>): Promise<Set<string>> {
  return new Set((await db.selectFrom('categories').select('slug').execute()).map((r) => r.slug));
}

export async function childCategories(db: Kysely<MarketplaceDB>, slug: string): Promise<string[]> {
  return (await db.selectFrom('categories').select('slug').where('parent', '=', slug).execute()).map((r) => r.slug);
}
