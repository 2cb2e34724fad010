import type { Route } from './server.route.ts';

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

function matchPath(route: Route, pathname: string): Record<string, string> | null {
  if (typeof route.path === 'string') return route.path === pathname ? {} : null;
  const m = route.path.exec(pathname);
  if (!m || m[0] !== pathname) return null;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) params[k] = decodeURIComponent(v);
  return params;
}

/**
 * First route whose path and method match. HEAD falls back to the GET route of the same path
 * (Node sends the headers and drops the body). A path known under other methods gives 405.
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  const allow = new Set<string>();
  let getFallback: { route: Route; params: Record<string, string> } | undefined;
  for (const route of routes) {
    const params = matchPath(route, pathname);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    if (method === 'HEAD' && route.method === 'GET' && !getFallback) getFallback = { route, params };
    allow.add(route.method);
    if (route.method === 'GET') allow.add('HEAD');
  }
  if (getFallback) return { kind: 'found', ...getFallback };
  return allow.size ? { kind: 'method_not_allowed', allow: [...allow].sort() } : { kind: 'not_found' };
}
