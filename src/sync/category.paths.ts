import type { Category } from '../validation/catalog.validator.ts';

/**
 * "/" inside one category name would split a level of the Product API's categoryPaths (§3.2.1).
 * DIVISION SLASH (U+2215) looks the same in a widget and splits nothing; the feed keeps the name.
 */
export const PATH_SLASH_STANDIN = '\u2215';

/**
 * Each valid category's full path from the root, names joined with "/" (retailrocket-api.md
 * §3.2.1). The tree is already free of cycles and orphans, and names with "/" were reported
 * (validateCategories). Memory: one string per category, as the feed's <categories> block.
 */
export function categoryPaths(categories: Category[]): Map<string, string> {
  const byId = new Map(categories.map((c) => [c.id, c]));
  const paths = new Map<string, string>();
  const level = (c: Category): string => {
    if (!c.name.includes('/')) return c.name;
    return c.name.split('/').join(PATH_SLASH_STANDIN);
  };
  const resolve = (c: Category): string => {
    const known = paths.get(c.id);
    if (known !== undefined) return known;
    // Walk up iteratively (deep trees must not overflow the stack), then fill in downwards.
    const chain: Category[] = [];
    let cur: Category | undefined = c;
    while (cur && !paths.has(cur.id)) {
      chain.push(cur);
      cur = cur.parentId === null ? undefined : byId.get(cur.parentId);
    }
    let prefix = cur ? paths.get(cur.id)! : '';
    for (let i = chain.length - 1; i >= 0; i--) {
      prefix = prefix === '' ? level(chain[i]) : `${prefix}/${level(chain[i])}`;
      paths.set(chain[i].id, prefix);
    }
    return paths.get(c.id)!;
  };
  for (const c of categories) resolve(c);
  return paths;
}
