import { ALGORITHMS, type AlgorithmInput } from './emulator.algorithms.ts';
import { effectiveItem } from './emulator.catalog.ts';
import { authenticate, methodNotAllowed, type AppContext } from './emulator.context.ts';
import { HttpError, notFound, queryList, queryParam, sendJson, type Exchange } from './emulator.http.ts';
import { checkValue, firstIssueBody, parseIdList, type FieldIssue } from './emulator.validation.ts';

type Needs = 'none' | 'vendor' | 'categoryIds' | 'categoryPaths' | 'productIds' | 'searchPhrase';

interface ResourceSpec {
  needs: Needs;
  /** §5.1.4: cacheable algorithms vs real-time (personal) ones. */
  cacheable: boolean;
  saleOnly: boolean;
}

const spec = (needs: Needs, cacheable: boolean, saleOnly = false): ResourceSpec => ({
  needs,
  cacheable,
  saleOnly,
});

/** §5.1.1, keyed by lower-case `group/algorithm` (routing is case-insensitive, as on .NET hosts). */
export const RESOURCES: Record<string, ResourceSpec> = {
  'partnerrecommendations/popular': spec('none', true),
  'partnerrecommendations/personalcomposite': spec('none', false),
  'partnerrecommendations/personalviewed': spec('none', false),
  'partnerrecommendations/personalordered': spec('none', false),
  'partnerrecommendations/popularininterestedcategories': spec('none', false),
  'partnerrecommendations/popularbyvendor': spec('vendor', true),
  'categoryrecommendations/popular': spec('categoryIds', true),
  'categoryrecommendations/popularbycategorypath': spec('categoryPaths', true),
  'categoryrecommendations/salebypopular': spec('categoryIds', true, true),
  'categoryrecommendations/salebypopularbycategorypath': spec('categoryPaths', true, true),
  'categoryrecommendations/latest': spec('categoryIds', true),
  'categoryrecommendations/latestbycategorypath': spec('categoryPaths', true),
  'categoryrecommendations/salebylatest': spec('categoryIds', true, true),
  'categoryrecommendations/salebylatestbycategorypath': spec('categoryPaths', true, true),
  'productrecommendations/alternatives': spec('productIds', true),
  'productrecommendations/related': spec('productIds', true),
  'productrecommendations/relatedbyinterestedproperties': spec('productIds', false),
  'productrecommendations/relatedwithoutcurrentcategory': spec('productIds', true),
  'productrecommendations/relatedwithrules': spec('productIds', true),
  'productrecommendations/accessories': spec('productIds', true),
  'productrecommendations/upsell': spec('productIds', true),
  'searchrecommendations/search': spec('searchPhrase', false),
  'searchrecommendations/searchwithneuralnetworks': spec('searchPhrase', false),
};

const bad = (issue: FieldIssue) => new HttpError(400, firstIssueBody([issue]));

/** §1.7: sessionExternalId, or session (rcuid), or link (`name,value` or link.name + link.value). */
function visitorOf(ex: Exchange, strict: boolean): string {
  const sid = queryParam(ex.url, 'sessionExternalId');
  if (sid !== null) {
    const problem = checkValue('session', sid, strict);
    if (problem)
      throw bad({ field: 'sessionExternalId', ...problem, message: `sessionExternalId ${problem.message}` });
    return sid;
  }
  const session = queryParam(ex.url, 'session');
  if (session) return session;
  const link = queryParam(ex.url, 'link');
  const linkName = queryParam(ex.url, 'link.name');
  const linkValue = queryParam(ex.url, 'link.value');
  if (link && link.includes(',')) {
    const [name, ...rest] = link.split(',');
    return `link:${name}:${rest.join(',')}`;
  }
  if (linkName && linkValue) return `link:${linkName}:${linkValue}`;
  throw bad({
    field: 'sessionExternalId',
    rule: 'required',
    message: 'sessionExternalId (or session, or link) is required',
  });
}

function readInput(
  ctx: AppContext,
  ex: Exchange,
  needs: Needs,
): Omit<AlgorithmInput, 'partner' | 'visitor' | 'accessoryCategories'> {
  const input = {
    productIds: [] as string[],
    categoryIds: [] as string[],
    categoryPaths: [] as string[],
    vendor: '',
    searchPhrase: '',
  };
  if (needs === 'productIds' || needs === 'categoryIds') {
    const { ids, issue } = parseIdList(queryParam(ex.url, needs), needs, true);
    if (issue) throw bad(issue);
    input[needs] = ids;
  } else if (needs === 'categoryPaths') {
    input.categoryPaths = queryList(ex.url, 'categoryPaths');
    if (input.categoryPaths.length === 0) {
      throw bad({
        field: 'categoryPaths',
        rule: 'required',
        message: 'categoryPaths is required (repeat it or comma-separate)',
      });
    }
  } else if (needs === 'vendor' || needs === 'searchPhrase') {
    const v = queryParam(ex.url, needs);
    const problem =
      v === null
        ? { rule: 'required', message: 'is required' }
        : checkValue(needs === 'vendor' ? 'text' : 'short', v, ctx.strict);
    if (problem) throw bad({ field: needs, ...problem, message: `${needs} ${problem.message}` });
    input[needs] = v as string;
  }
  return input;
}

/** `GET /api/3.0/<group>/<algorithm>/` (§5.1). Returns false when the path is not a recommendation. */
export async function handleRecommendations(ctx: AppContext, ex: Exchange): Promise<boolean> {
  const m = /^\/api\/3\.0\/([A-Za-z]+)\/([A-Za-z]+)\/?$/.exec(ex.path);
  if (!m && !/^\/api\/3\.0(\/|$)/.test(ex.path)) return false;
  const key = m ? `${m[1]}/${m[2]}`.toLowerCase() : '';
  const resource = RESOURCES[key];
  if (!resource) throw notFound(ex.path);
  if (ex.method !== 'GET' && ex.method !== 'HEAD') throw methodNotAllowed('GET');
  const partner = authenticate(ctx, ex);
  ctx.limiter.admit(partner.partnerId, 'recommendations');
  const visitor = visitorOf(ex, ctx.strict);
  const stockRaw = queryParam(ex.url, 'stockId');
  if (stockRaw !== null) {
    const problem = checkValue('short', stockRaw, ctx.strict);
    if (problem) throw bad({ field: 'stockId', ...problem, message: `stockId ${problem.message}` });
  }
  const stockId = stockRaw ?? undefined;
  const input: AlgorithmInput = {
    partner,
    visitor,
    accessoryCategories: ctx.behaviour.accessoryCategories,
    ...readInput(ctx, ex, resource.needs),
  };
  const algorithm = m?.[2] ?? '';
  const counts = ctx.behaviour.recommendationCounts;
  const limit = counts[key] ?? counts[algorithm] ?? ctx.behaviour.recommendationCount;
  const catalog = partner.catalog;
  const known = input.productIds.some((id) => catalog.items.has(id));
  let ids: string[] = [];
  // A stock the catalog never named, or only unknown products as input: the documented empty answer.
  if ((stockId === undefined || catalog.stocks.has(stockId)) && (resource.needs !== 'productIds' || known)) {
    ids = pick(ctx, input, ALGORITHMS[key]?.(input) ?? [], stockId, resource.saleOnly, limit);
  }
  const cacheControl = resource.cacheable
    ? ctx.behaviour.cacheControlCacheable
    : ctx.behaviour.cacheControlRealtime;
  sendJson(
    ex.res,
    200,
    { recommendations: ids.map((id) => ({ productId: Number(id) })) },
    { 'cache-control': cacheControl },
  );
  return true;
}

/** Available (in the stock, when given), one per group, never an input product, at most `limit`. */
function pick(
  ctx: AppContext,
  input: AlgorithmInput,
  candidates: string[],
  stockId: string | undefined,
  saleOnly: boolean,
  limit: number,
): string[] {
  const catalog = input.partner.catalog;
  const exclude = new Set(input.productIds);
  const groups = new Set<string>();
  const out: string[] = [];
  for (const id of candidates) {
    if (out.length >= limit) break;
    if (exclude.has(id)) continue;
    const item = catalog.items.get(id);
    if (!item) continue;
    const eff = effectiveItem(item, stockId, ctx.behaviour.stockMissingMeans);
    if (!eff.available) continue;
    if (saleOnly && !(eff.oldPrice !== null && eff.oldPrice > eff.price)) continue;
    const group = item.groupId === null ? `item:${id}` : `group:${item.groupId}`;
    if (groups.has(group)) continue;
    groups.add(group);
    exclude.add(id);
    out.push(id);
  }
  return out;
}
