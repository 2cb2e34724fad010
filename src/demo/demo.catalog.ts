import { DEPARTMENTS, SPLIT_TYPES } from './demo.names.ts';

export interface DemoCategory {
  id: number;
  parentId: number | null;
  name: string;
}

/** A kind of product ("Chef knife") and the leaf categories it may be filed under. */
export interface ProductType {
  noun: string;
  department: number;
  specs: readonly string[];
  leafIds: readonly number[];
}

export interface DemoCatalogTree {
  categories: DemoCategory[];
  types: ProductType[];
  /** Product types by department, for a product's optional second category. */
  typesByDepartment: ProductType[][];
}

/** "Chef knife" -> "Chef knives", "Dress" -> "Dresses", "Jeans" -> "Jeans". */
export function pluralise(noun: string): string {
  if (/(ss|sh|ch|x)$/.test(noun)) return `${noun}es`;
  if (/s$/.test(noun)) return noun;
  if (/fe$/.test(noun)) return `${noun.slice(0, -2)}ves`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

/**
 * The fixed category tree (220 categories, 3 levels, 4 under a few product types): department >
 * subcategory > product type [> style]. Ids are 1..n in creation order, so they never depend on
 * the seed.
 */
export function buildCategoryTree(): DemoCatalogTree {
  const categories: DemoCategory[] = [];
  const types: ProductType[] = [];
  const typesByDepartment: ProductType[][] = [];
  const add = (parentId: number | null, name: string): number => {
    const id = categories.length + 1;
    categories.push({ id, parentId, name });
    return id;
  };
  DEPARTMENTS.forEach((dept, d) => {
    const deptId = add(null, dept.name);
    const deptTypes: ProductType[] = [];
    for (const [subName, nouns] of Object.entries(dept.subcategories)) {
      const subId = add(deptId, subName);
      for (const noun of nouns) {
        const leafId = add(subId, pluralise(noun));
        const styles = SPLIT_TYPES[noun];
        const leafIds = styles ? styles.map((s) => add(leafId, s)) : [leafId];
        deptTypes.push({ noun, department: d, specs: dept.specs, leafIds });
      }
    }
    types.push(...deptTypes);
    typesByDepartment.push(deptTypes);
  });
  return { categories, types, typesByDepartment };
}
