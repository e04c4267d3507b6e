import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../../oci/errors.js';
import type { RegistryServices } from '../context.js';
import type { Caller } from '../auth/access.js';
import { sendJson } from '../http.js';
import { matchRoute, type Route } from '../routing.js';
import { catalog } from '../v2/listings.js';
import { getManifest, listManifests, patchManifest } from './manifests.js';
import { deleteRepository, getRepository, patchRepository } from './repositories.js';
import { deleteTag, getTag, listTags, patchTag } from './tags.js';

/**
 * Routes of `/acr/v1/<name>/…`, Azure Container Registry's metadata API. Names cannot start with
 * `_`, so `/_tags` and `/_manifests` end a name unambiguously; clients may also send the name
 * percent-encoded (`library%2Fhello-world`), as Azure's SDKs do.
 */
const READ = 'metadata/read' as const;
const WRITE = 'metadata/write' as const;
const DELETE = 'content/delete' as const;

const ROUTES: Route[] = [
  { pattern: /^(.+)\/_tags$/, methods: { GET: listTags }, auth: { GET: READ } },
  { pattern: /^(.+)\/_tags\/([^/]+)$/, methods: { GET: getTag, PATCH: patchTag, DELETE: deleteTag }, auth: { GET: READ, PATCH: WRITE, DELETE: DELETE } },
  { pattern: /^(.+)\/_manifests$/, methods: { GET: listManifests }, auth: { GET: READ } },
  { pattern: /^(.+)\/_manifests\/([^/]+)$/, methods: { GET: getManifest, PATCH: patchManifest }, auth: { GET: READ, PATCH: WRITE } },
  { pattern: /^(.+)$/, methods: { GET: getRepository, PATCH: patchRepository, DELETE: deleteRepository }, auth: { GET: READ, PATCH: WRITE, DELETE: DELETE } },
];

/** Handles a request whose raw path starts with `/acr/v1/`; `url` carries the query. */
export async function routeAcr(req: IncomingMessage, res: ServerResponse, path: string, url: URL, services: RegistryServices, caller: Caller): Promise<void> {
  const rest = path.slice('/acr/v1/'.length);
  if (rest === '_catalog') {
    if (req.method !== 'GET') throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on /acr/v1/_catalog`, { headers: { Allow: 'GET' } });
    services.access.authorizeCatalog(req, caller);
    const { body, headers } = await catalog(url, services, caller, '/acr/v1/_catalog');
    sendJson(res, 200, body, headers);
    return;
  }
  const found = rest === '' ? undefined : matchRoute(ROUTES, rest, req, res, url, services, caller);
  if (!found) throw new RegistryError('UNSUPPORTED', `no API route for ${path.slice(0, 300)}`, { status: 404 });
  await found.handler(found.ctx);
}
