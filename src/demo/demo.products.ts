import type { ProductType } from './demo.catalog.ts';
import { COLOURS, COUNTRIES, EXTRAS, LEADS, MATERIALS, VENDORS, WAREHOUSES } from './demo.names.ts';
import { createRandom, deriveSeed, type Random } from './demo.random.ts';
import type { CopyField } from './demo.copy.ts';
import { PRODUCT_COLUMNS as READ_PRODUCT_COLUMNS, STOCK_COLUMNS } from '../catalog/catalog.schema.ts';

/** First product id; ids grow by 1 or 2 so the range has gaps. */
export const FIRST_PRODUCT_ID = 100_000;
/** Share of products that start a group of 2-4 variants: about 30 % of products end up grouped. */
const GROUP_START = 0.125;
const UPDATED_BASE_MS = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

/** The reader's product columns plus updated_at, in the order the COPY rows are built. */
export const PRODUCT_COLUMNS = [...READ_PRODUCT_COLUMNS, 'updated_at'] as const;

export { STOCK_COLUMNS };

/**
 * What both passes (products, then stocks) need to agree on. It comes from its own random stream,
 * replayed identically by each pass, so the two COPYs never hold the catalog in memory.
 */
export interface ProductCore {
  id: number;
  groupId: number | null;
  type: ProductType;
  vendor: string;
  spec: string;
  colour: string;
  model: string;
  priceCents: number;
  available: boolean;
}

export function* productCores(
  seed: number,
  count: number,
  types: readonly ProductType[],
): Generator<ProductCore> {
  const rng = createRandom(deriveSeed(seed, 1));
  let id = FIRST_PRODUCT_ID - 1;
  let i = 0;
  while (i < count) {
    const type = rng.pick(types);
    const vendor = rng.pick(VENDORS);
    const spec = rng.pick(type.specs);
    const model = `${String.fromCharCode(65 + rng.int(0, 25), 65 + rng.int(0, 25))}-${rng.int(100, 999)}`;
    const basePrice = Math.round(Math.exp(Math.log(299) + rng.next() * (Math.log(99_999) - Math.log(299))));
    const variants = rng.chance(GROUP_START) ? Math.min(rng.int(2, 4), count - i) : 1;
    const colourOffset = rng.int(0, COLOURS.length - 1);
    // The group id is the first variant's id: it names a product inside the group, never outside.
    const groupId = variants > 1 ? id + 1 + rng.int(0, 1) : null;
    for (let v = 0; v < variants; v++, i++) {
      id = v === 0 && groupId !== null ? groupId : id + 1 + rng.int(0, 1);
      yield {
        id,
        groupId,
        type,
        vendor,
        spec,
        colour: COLOURS[(colourOffset + v * 5) % COLOURS.length]!,
        model,
        priceCents: basePrice + v * 100,
        available: rng.chance(0.9),
      };
    }
  }
}

export function money(cents: number): string {
  const c = String(cents % 100).padStart(2, '0');
  return `${Math.floor(cents / 100)}.${c}`;
}

export const productName = (p: ProductCore): string => `${p.type.noun} ${p.spec}, ${p.colour}`;
export const productUrl = (id: number | string): string => `https://shop.example/p/${id}`;
export const pictureUrl = (id: number | string): string => `https://cdn.shop.example/img/${id}.jpg`;

function description(rng: Random, name: string, vendor: string, material: string): string {
  const fill = (s: string) => s.replaceAll('{n}', name).replaceAll('{v}', vendor).replaceAll('{m}', material);
  const target = rng.int(100, 400);
  let text = fill(rng.pick(LEADS));
  let used = 0;
  // Whole fragments only, so a surrogate pair (emoji) is never cut in half.
  for (let guard = 0; text.length < target && guard < 12; guard++) {
    const e = rng.int(0, EXTRAS.length - 1);
    if (used & (1 << e)) continue;
    used |= 1 << e;
    const extra = fill(EXTRAS[e]!);
    if (text.length + 1 + extra.length > 400) break;
    text += ` ${extra}`;
  }
  while (text.length < 100) text += ' Good choice.';
  return text;
}

function params(rng: Random, p: ProductCore, material: string): string | null {
  const r = rng.next();
  if (r < 0.6) {
    const list: { name: string; value: string; unit?: string }[] = [
      { name: 'Colour', value: p.colour },
      { name: 'Weight', value: String(rng.int(50, 5000)), unit: 'g' },
    ];
    if (rng.chance(0.5)) list.push({ name: 'Material', value: material });
    return JSON.stringify(list);
  }
  if (r < 0.9) return JSON.stringify({ Material: material, Страна: rng.pick(COUNTRIES) });
  return null;
}

/** The products COPY rows (PRODUCT_COLUMNS order), generated one at a time. */
export function* productRows(
  seed: number,
  count: number,
  types: readonly ProductType[],
  typesByDepartment: readonly (readonly ProductType[])[],
): Generator<CopyField[]> {
  const rng = createRandom(deriveSeed(seed, 2));
  for (const p of productCores(seed, count, types)) {
    const name = productName(p);
    const material = rng.pick(MATERIALS);
    const categories = [rng.pick(p.type.leafIds)];
    if (rng.chance(0.25)) {
      const other = rng.pick(rng.pick(typesByDepartment[p.type.department]!).leafIds);
      if (other !== categories[0]) categories.push(other);
    }
    const oldPrice = rng.chance(0.2) ? money(Math.round(p.priceCents * (1.1 + rng.next() * 0.5))) : null;
    yield [
      String(p.id),
      p.groupId === null ? null : String(p.groupId),
      name,
      productUrl(p.id),
      pictureUrl(p.id),
      money(p.priceCents),
      oldPrice,
      p.available ? 't' : 'f',
      `{${categories.join(',')}}`,
      rng.chance(0.95) ? p.vendor : null,
      rng.chance(0.9) ? p.model : null,
      rng.chance(0.85) ? p.type.noun : null,
      description(rng, name, p.vendor, material),
      params(rng, p, material),
      new Date(UPDATED_BASE_MS - rng.int(0, 365 * DAY_MS)).toISOString(),
    ];
  }
}

/** Warehouse subsets as bit masks, by size, so a product's 2-4 warehouses cost one pick. */
const MASKS_BY_SIZE: number[][] = [[], [], [], [], [], []];
for (let m = 0; m < 1 << WAREHOUSES.length; m++) {
  let bits = 0;
  for (let b = m; b; b >>= 1) bits += b & 1;
  MASKS_BY_SIZE[bits]!.push(m);
}

/** The product_stocks COPY rows (STOCK_COLUMNS order): 2-4 warehouses per product, 3 on average. */
export function* stockRows(
  seed: number,
  count: number,
  types: readonly ProductType[],
): Generator<CopyField[]> {
  const rng = createRandom(deriveSeed(seed, 3));
  for (const p of productCores(seed, count, types)) {
    const r = rng.next();
    const mask = rng.pick(MASKS_BY_SIZE[r < 0.3 ? 2 : r < 0.7 ? 3 : 4]!);
    const id = String(p.id);
    for (let w = 0; w < WAREHOUSES.length; w++) {
      if (!(mask & (1 << w))) continue;
      const warehouse = WAREHOUSES[w]!;
      const priceCents = rng.chance(0.3)
        ? Math.max(1, Math.round(p.priceCents * (0.9 + rng.next() * 0.2)))
        : null;
      const oldPrice = priceCents !== null && rng.chance(0.15) ? money(Math.round(priceCents * 1.25)) : null;
      const rare = rng.next();
      yield [
        id,
        warehouse.id,
        (p.available ? rng.chance(0.85) : rng.chance(0.05)) ? 't' : 'f',
        priceCents === null ? null : money(priceCents),
        oldPrice,
        rare < 0.01 ? `${productUrl(id)}?store=${encodeURIComponent(warehouse.id)}` : null,
        rare >= 0.01 && rare < 0.02 ? `https://cdn.shop.example/img/${id}-${w}.jpg` : null,
        rare >= 0.02 && rare < 0.025 ? `${productName(p)} (${warehouse.name})` : null,
        rare >= 0.025 && rare < 0.03 ? `Pick-up only at ${warehouse.name} & today 🚚\nЗвоните!` : null,
      ];
    }
  }
}
