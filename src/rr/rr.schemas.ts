import { z } from 'zod';
import { checkPrice } from '../validation/validation.rules.ts';

/**
 * Outgoing data is checked before anything is sent (a bad id never reaches Retail Rocket), and
 * incoming data is checked against the documented variants (retailrocket-api.md §4, §5.1.2, §3).
 */

export const MAX_ID = 9_007_199_254_740_991;
const ID_RULE = `must be digits only, from 1 to ${MAX_ID}`;
const DIGITS = /^[1-9][0-9]{0,15}$/;

/** Product, group and category ids: number or decimal string in, JSON number out. */
export const rrId = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : DIGITS.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    ctx.addIssue({ code: 'custom', message: ID_RULE });
    return z.NEVER;
  }
  return n;
});

/** sessionExternalId: letters, digits and hyphens (GUIDs), at most 50 (retailrocket-api.md §1.7). */
export const sessionId = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,50}$/, 'must be 1 to 50 letters, digits or hyphens ([A-Za-z0-9-]{1,50})');

/** stockId: 1–50 characters, any script, no control characters or surrounding spaces (§2, design §4). */
export const stockId = z
  .union([z.string(), z.number()])
  .transform(String)
  .pipe(
    z
      .string()
      .min(1, 'must be 1 to 50 characters')
      .max(50, 'must be 1 to 50 characters')
      .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters')
      .refine((s) => s.trim() === s, 'must not start or end with a space'),
  );

const shortText = (max: number) =>
  z.string().min(1, `must be 1 to ${max} characters`).max(max, `must be 1 to ${max} characters`);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Event time: a Date or an ISO 8601 string with an offset; sent as UTC ISO 8601. Defaults to now. */
export const timestamp = z
  .union([z.date(), z.string()])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return new Date().toISOString();
    const ms = typeof v === 'string' ? (ISO_8601.test(v) ? Date.parse(v) : NaN) : v.getTime();
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date-time with an offset (or a Date)' });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  });

const price = z.number().finite().min(0, 'must be ≥ 0');
const quantity = z.number().finite().gt(0, 'must be > 0');
const email = z.email('must be an e-mail address').max(254);
const customData = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const categoryPath = z
  .string()
  .min(1, 'must be a non-empty /-separated path')
  .max(1000)
  .refine((p) => !p.startsWith('/') && !p.endsWith('/'), 'must be a full path like Women/Clothes/Skirts');
const list = <T extends z.ZodType>(item: T, max = 100) =>
  z.array(item).min(1, 'must list at least one').max(max, `must list at most ${max}`);

const base = { sessionExternalId: sessionId, timestamp };
const withProduct = { ...base, productId: rrId, stockId: stockId.optional() };

/** One schema per tracking resource (retailrocket-api.md §4.2–§4.5); unknown fields are refused. */
export const EVENT_SCHEMAS = {
  view: z.strictObject(withProduct),
  groupView: z.strictObject({
    ...base,
    groupId: rrId,
    productIds: list(rrId, 1000),
    stockId: stockId.optional(),
  }),
  addToBasket: z.strictObject(withProduct),
  categoryView: z.strictObject({ ...base, categoryId: rrId }),
  categoryViewByCategoryPath: z.strictObject({ ...base, categoryPath }),
  order: z.strictObject({ ...withProduct, price, quantity, transaction: shortText(50) }),
  search: z.strictObject({ ...base, searchPhrase: shortText(250), stockId: stockId.optional() }),
  setContact: z.strictObject({
    ...base,
    contactExternalId: z.string().regex(/^[A-Za-z0-9-]{1,50}$/, 'must be 1 to 50 letters, digits or hyphens'),
    email: email.optional(),
    phone: z
      .string()
      .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number like +4915123456789')
      .optional(),
    stockId: stockId.optional(),
    customData: customData.optional(),
  }),
  welcomeSequence: z.strictObject({ ...base, email }),
  emailClick: z.strictObject({ ...base, mailTrackingId: shortText(200), customData: customData.optional() }),
  recomBlockViewed: z.strictObject({ ...base, recomBlockId: shortText(50) }),
  recomTap: z.strictObject({ ...withProduct, recomBlockId: shortText(50) }),
  recomAddToBasket: z.strictObject({ ...withProduct, recomBlockId: shortText(50) }),
  impressionContentViewed: z.strictObject({ ...base, impressionContentId: z.union([shortText(200), rrId]) }),
  impressionContentClicked: z.strictObject({ ...base, impressionContentId: z.union([shortText(200), rrId]) }),
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];
/** What a caller passes (timestamp optional, ids as number or string). */
export type EventInput<T extends EventType> = z.input<(typeof EVENT_SCHEMAS)[T]>;
/** What goes on the wire. */
export type EventBody<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;

/** Types allowed in the visitorEvents batch (§4.6: categoryViewByCategoryPath is not listed). */
export const BATCH_EVENT_TYPES = EVENT_TYPES.filter((t) => t !== 'categoryViewByCategoryPath') as Exclude<
  EventType,
  'categoryViewByCategoryPath'
>[];
export type BatchEventType = (typeof BATCH_EVENT_TYPES)[number];
export type BatchEvent = { [K in BatchEventType]: { type: K; event: EventInput<K> } }[BatchEventType];

// ---------------------------------------------------------------- recommendations (§5.1)

/** Every v3.0 resource of §5.1.1 and the context parameter it needs. */
export const RECOMMENDATION_RESOURCES = {
  'partnerRecommendations/popular': 'none',
  'partnerRecommendations/personalComposite': 'none',
  'partnerRecommendations/personalViewed': 'none',
  'partnerRecommendations/personalOrdered': 'none',
  'partnerRecommendations/popularInInterestedCategories': 'none',
  'partnerRecommendations/popularByVendor': 'vendor',
  'categoryRecommendations/popular': 'categoryIds',
  'categoryRecommendations/popularByCategoryPath': 'categoryPaths',
  'categoryRecommendations/saleByPopular': 'categoryIds',
  'categoryRecommendations/saleByPopularByCategoryPath': 'categoryPaths',
  'categoryRecommendations/latest': 'categoryIds',
  'categoryRecommendations/latestByCategoryPath': 'categoryPaths',
  'categoryRecommendations/saleByLatest': 'categoryIds',
  'categoryRecommendations/saleByLatestByCategoryPath': 'categoryPaths',
  'productRecommendations/alternatives': 'productIds',
  'productRecommendations/related': 'productIds',
  'productRecommendations/relatedByInterestedProperties': 'productIds',
  'productRecommendations/relatedWithoutCurrentCategory': 'productIds',
  'productRecommendations/relatedWithRules': 'productIds',
  'productRecommendations/accessories': 'productIds',
  'productRecommendations/upsell': 'productIds',
  'searchRecommendations/search': 'searchPhrase',
  'searchRecommendations/searchWithNeuralNetworks': 'searchPhrase',
} as const;

export type RecommendationResource = keyof typeof RECOMMENDATION_RESOURCES;

/**
 * Real-time resources (§5.1.4: personal, visitor-interest, property-interest and search ones):
 * their answer depends on the visitor's history, so it is never cached, whatever Cache-Control says.
 * The others depend only on their parameters and may be shared between visitors.
 */
export const PERSONAL_RECOMMENDATION_RESOURCES: ReadonlySet<RecommendationResource> = new Set([
  'partnerRecommendations/personalComposite',
  'partnerRecommendations/personalViewed',
  'partnerRecommendations/personalOrdered',
  'partnerRecommendations/popularInInterestedCategories',
  'productRecommendations/relatedByInterestedProperties',
  'searchRecommendations/search',
  'searchRecommendations/searchWithNeuralNetworks',
]);
type ContextKind = (typeof RECOMMENDATION_RESOURCES)[RecommendationResource];

const identity = {
  /** The shop's visitor id (the same one used in events). */
  sessionExternalId: sessionId.optional(),
  /** The browser SDK's rcuid, when tracking is done in the browser (§1.7). */
  session: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be 1 to 100 letters, digits or hyphens')
    .optional(),
  stockId: stockId.optional(),
};
const oneVisitor = (v: { sessionExternalId?: string; session?: string }) =>
  (v.sessionExternalId === undefined) !== (v.session === undefined);
const visitorRule = {
  message: 'give exactly one of sessionExternalId or session',
  path: ['sessionExternalId'],
};

export const RECOMMENDATION_PARAMS = {
  none: z.strictObject(identity).refine(oneVisitor, visitorRule),
  vendor: z.strictObject({ ...identity, vendor: shortText(200) }).refine(oneVisitor, visitorRule),
  categoryIds: z.strictObject({ ...identity, categoryIds: list(rrId, 50) }).refine(oneVisitor, visitorRule),
  categoryPaths: z
    .strictObject({ ...identity, categoryPaths: list(categoryPath, 50) })
    .refine(oneVisitor, visitorRule),
  productIds: z.strictObject({ ...identity, productIds: list(rrId, 50) }).refine(oneVisitor, visitorRule),
  searchPhrase: z.strictObject({ ...identity, searchPhrase: shortText(250) }).refine(oneVisitor, visitorRule),
} as const;

export type RecommendationParams<R extends RecommendationResource> = z.input<
  (typeof RECOMMENDATION_PARAMS)[(typeof RECOMMENDATION_RESOURCES)[R]]
>;
export type RecommendationQuery = z.output<(typeof RECOMMENDATION_PARAMS)[ContextKind]>;

/** Ids coming back: numbers, or digit strings on accounts with string ids. */
const idIn = z.union([
  z.number().int().min(0).max(MAX_ID),
  z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number),
]);

/** `{recommendations:[{productId: 1}, ...]}` or the older `[{productId: [1, 2]}]`: flattened to ids. */
export const RecommendationsResponse = z
  .looseObject({ recommendations: z.array(z.looseObject({ productId: z.union([idIn, z.array(idIn)]) })) })
  .transform((r) => r.recommendations.flatMap((item) => item.productId));

// ---------------------------------------------------------------- Product API (§3.2)

const absUrl = z
  .string()
  .max(512, 'must be at most 512 characters')
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an absolute http(s) URL');
/**
 * Product API prices: a number, or decimal text as the validator's offers carry it ("9.90",
 * "9.9000000000000000" from a view): sent as the JSON number of the same value ("9.9").
 */
const money = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const r = checkPrice(v);
  if ('price' in r) return Number(r.price);
  if (r.canonical !== undefined) return Number(r.canonical);
  ctx.addIssue({ code: 'custom', message: 'must be a number or decimal text like 9.90' });
  return z.NEVER;
});
const positivePrice = money.pipe(z.number().finite().gt(0, 'must be > 0'));
const listPrice = money.pipe(price);
const params = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const optionalText = z.string().max(10_000).optional();

export const ProductSchema = z.strictObject({
  id: rrId,
  name: shortText(120),
  price: positivePrice,
  url: absUrl,
  pictureUrl: absUrl,
  isAvailable: z.boolean(),
  categoryPaths: list(categoryPath, 100),
  oldPrice: listPrice.optional(),
  description: optionalText,
  vendor: optionalText,
  model: optionalText,
  typePrefix: optionalText,
  params: params.optional(),
});
export type ProductInput = z.input<typeof ProductSchema>;

const GroupMemberSchema = z.strictObject({
  isAvailable: z.boolean(),
  name: shortText(120).optional(),
  color: optionalText,
  size: optionalText,
  url: absUrl.optional(),
  pictureUrl: absUrl.optional(),
  price: positivePrice.optional(),
  oldPrice: listPrice.optional(),
  description: optionalText,
  params: params.optional(),
});

/** A group carries the same fields as a product (§3.2.2), with groupId for id, plus its members. */
export const ProductGroupSchema = ProductSchema.omit({ id: true }).extend({
  groupId: rrId,
  /** Members keyed by product id (§3.2.2). */
  products: z
    .record(z.string().regex(DIGITS, `keys ${ID_RULE}`), GroupMemberSchema)
    .refine((p) => Object.keys(p).length > 0, 'must contain at least one product'),
});
export type ProductGroupInput = z.input<typeof ProductGroupSchema>;

export const ItemsQuerySchema = z.strictObject({ itemIds: list(rrId, 100), stockId: stockId.optional() });

const nullableText = z.string().nullish();
/** Items lookup answer (§3.3, fields of §5.2.3); unknown fields are ignored. */
export const ItemsResponse = z
  .array(
    z.looseObject({
      ItemId: idIn,
      Name: nullableText,
      Price: z.number().nullish(),
      OldPrice: z.number().nullish(),
      Url: nullableText,
      PictureUrl: nullableText,
      IsAvailable: z.boolean().nullish(),
      GroupId: idIn.nullish(),
      Vendor: nullableText,
      CategoryIds: z.array(idIn).nullish(),
    }),
  )
  .transform((items) =>
    items.map((i) => ({
      itemId: i.ItemId,
      name: i.Name ?? undefined,
      price: i.Price ?? undefined,
      oldPrice: i.OldPrice ?? undefined,
      url: i.Url ?? undefined,
      pictureUrl: i.PictureUrl ?? undefined,
      isAvailable: i.IsAvailable ?? undefined,
      groupId: i.GroupId ?? undefined,
      vendor: i.Vendor ?? undefined,
      categoryIds: i.CategoryIds ?? undefined,
    })),
  );
export type RrItem = z.output<typeof ItemsResponse>[number];

/** "field: rule; other.field: rule", for `invalid` results. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return `${path || '(input)'}: ${i.message}`;
    })
    .join('; ');
}
