import { type CallMeta, marketplaceCommands, type UseCaseDeps } from './use-case-deps.ts';
import { categoryAggregate, decideCategory, SEED_CATEGORIES } from '../domain/category/category.ts';
import { childCategories, knownCategories } from '../projections/categories/index.ts';

/** The admin-managed category list: define (add, rename, move), remove, and the seed defined at start. */
export function createCategoryUseCases(opts: UseCaseDeps) {
  const { commands, meta: metaOf } = marketplaceCommands(opts);
  const meta = (m: CallMeta) => metaOf(undefined, m);

  const define = async (slug: string, input: { name: string; parent: string | null }, m: CallMeta) => {
    const known = await knownCategories(opts.db);
    const now = opts.now();
    const res = await commands.execute(categoryAggregate, slug, meta(m), (state) =>
      decideCategory({ type: 'DefineCategory', slug, name: input.name, parent: input.parent, known, by: m.by, now }, state),
    );
    return { created: res.events.length > 0 };
  };

  return {
    define,
    async remove(slug: string, m: CallMeta): Promise<void> {
      const children = await childCategories(opts.db, slug);
      const now = opts.now();
      await commands.execute(categoryAggregate, slug, meta(m), (state) =>
        decideCategory({ type: 'RemoveCategory', slug, children, by: m.by, now }, state),
      );
    },
    /** Defines the seed categories an admin has never defined (an admin's rename or removal is kept). */
    async seed(): Promise<number> {
      let defined = 0;
      for (const c of SEED_CATEGORIES) {
        const snap = await commands.load(categoryAggregate, c.slug);
        if (snap.version > 0) continue;
        if ((await define(c.slug, { name: c.name, parent: null }, { by: 'system:seed' })).created) defined++;
      }
      return defined;
    },
  };
}
export type CategoryUseCases = ReturnType<typeof createCategoryUseCases>;
