import { z } from 'zod';
import {
  describeIssues,
  RECOMMENDATION_PARAMS,
  RECOMMENDATION_RESOURCES,
  type RecommendationQuery,
  type RecommendationResource,
} from '../rr/rr.schemas.ts';

/**
 * What a caller may ask for, checked before anything else happens (pure: no database, no call).
 * The parameters are Retail Rocket's own (RECOMMENDATION_PARAMS, unknown ones refused), plus our
 * `limit`.
 */

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 50;

export type ContextKind = (typeof RECOMMENDATION_RESOURCES)[RecommendationResource];

/** A caller's mistake (never an upstream or database failure): 400 or 404 with a stable code. */
export class RecommendationInputError extends Error {
  readonly status: 400 | 404;
  readonly code: 'recommendations.invalid' | 'recommendations.unknown_resource';

  constructor(status: 400 | 404, code: RecommendationInputError['code'], message: string) {
    super(message);
    this.name = 'RecommendationInputError';
    this.status = status;
    this.code = code;
  }
}

export interface RecommendationRequest {
  resource: RecommendationResource;
  kind: ContextKind;
  /** Validated, ids as numbers, ready for the client (minus ids the index does not know). */
  query: RecommendationQuery & {
    productIds?: number[];
    categoryIds?: number[];
    categoryPaths?: string[];
    vendor?: string;
    searchPhrase?: string;
  };
  limit: number;
}

/** "productRecommendations: alternatives, related, …; categoryRecommendations: …" */
export function describeResources(): string {
  const byGroup = new Map<string, string[]>();
  for (const r of Object.keys(RECOMMENDATION_RESOURCES)) {
    const [group, algorithm] = r.split('/') as [string, string];
    byGroup.set(group, [...(byGroup.get(group) ?? []), algorithm]);
  }
  return [...byGroup].map(([g, algs]) => `${g}: ${algs.join(', ')}`).join('; ');
}

export function isResource(resource: string): resource is RecommendationResource {
  return Object.hasOwn(RECOMMENDATION_RESOURCES, resource);
}

const Limit = z
  .union([z.number(), z.string().regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_LIMIT}`)])
  .transform(Number)
  .pipe(
    z
      .number()
      .int(`must be a whole number from 1 to ${MAX_LIMIT}`)
      .min(1, `must be a whole number from 1 to ${MAX_LIMIT}`)
      .max(MAX_LIMIT, `must be a whole number from 1 to ${MAX_LIMIT}`),
  )
  .optional();

/** Throws RecommendationInputError naming the parameter and the rule. */
export function parseRequest(
  resource: string,
  params: Readonly<Record<string, unknown>>,
): RecommendationRequest {
  if (!isResource(resource)) {
    throw new RecommendationInputError(
      404,
      'recommendations.unknown_resource',
      `Unknown recommendation resource "${resource}". Known: ${describeResources()}.`,
    );
  }
  const kind = RECOMMENDATION_RESOURCES[resource];
  const { limit, ...rest } = params;
  const lim = Limit.safeParse(limit);
  if (!lim.success) throw invalid(describeIssues(lim.error, 'limit'));
  const parsed = RECOMMENDATION_PARAMS[kind].safeParse(rest);
  if (!parsed.success) throw invalid(describeIssues(parsed.error));
  return {
    resource,
    kind,
    query: parsed.data as RecommendationRequest['query'],
    limit: lim.data ?? DEFAULT_LIMIT,
  };
}

function invalid(detail: string): RecommendationInputError {
  // zod names an unknown key "(input): Unrecognized key: "x"": say which parameter in our words.
  const message = detail.replace(/\(input\): Unrecognized keys?: (.*)/, 'unknown parameter $1');
  return new RecommendationInputError(400, 'recommendations.invalid', `Invalid request: ${message}.`);
}
