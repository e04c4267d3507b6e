import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import { isValidRepositoryName } from '../oci/names.js';
import type { Action as AuthAction } from '../store/auth/types.js';
import type { Caller } from './auth/access.js';
import type { RegistryServices, RequestContext } from './context.js';

/** Routing shared by the /v2 and /acr/v1 APIs: `<name>/<suffix>` paths where a name may contain `/`. */

export type Handler = (ctx: RequestContext) => Promise<void>;

export interface Route<Extra = object> {
  /** Group 1 is the repository name, group 2 (optional) the reference. */
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
  /** The permission each method needs on the repository; a method without one is refused. */
  auth: Partial<Record<string, AuthAction>>;
  extra?: Extra;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in path');
  }
}

/**
 * Finds the first route matching `rest` (routes go from most to least specific suffix, as
 * Distribution's router does), validates the name, picks the method's handler and checks that the
 * caller has the permission the route needs. Undefined when no route matches.
 */
export function matchRoute<Extra>(
  routes: Route<Extra>[],
  rest: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  services: RegistryServices,
  caller: Caller,
): { route: Route<Extra>; handler: Handler; ctx: RequestContext } | undefined {
  const method = req.method ?? 'GET';
  for (const route of routes) {
    const m = route.pattern.exec(rest);
    if (!m) continue;
    const name = decode(m[1]!);
    if (!isValidRepositoryName(name)) {
      throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 300))}`, { detail: { name: name.slice(0, 300) } });
    }
    const handler = route.methods[method];
    if (!handler) {
      throw new RegistryError('UNSUPPORTED', `${method} is not supported here`, {
        headers: { Allow: Object.keys(route.methods).join(', ') },
      });
    }
    // Deny by default: a route that forgot to say what it needs serves nobody.
    const permission = route.auth[method];
    if (!permission) throw new RegistryError('DENIED', `${method} on this route has no permission defined`);
    services.access.authorize(req, caller, name, permission);
    return { route, handler, ctx: { req, res, url, services, name, ref: decode(m[2] ?? ''), caller } };
  }
  return undefined;
}
