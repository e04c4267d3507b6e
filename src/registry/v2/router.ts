import { RegistryError } from '../../oci/errors.js';
import { matchRoute, type Route } from '../routing.js';
import { deleteBlob, getBlob } from './blobs.js';
import { catalog, listReferrers, listTags } from './listings.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import { sendJson } from '../http.js';
import { assertRepository, type Action } from '../locks.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryServices } from '../context.js';
import type { Caller } from '../auth/access.js';

/** What each method does to the repository as a whole, for its lock (manifest handlers check their own, finer locks). */
type Access = Partial<Record<string, Action>>;

/**
 * Routes of `/v2/<name>/…`. A name may itself contain `/blobs/` and the like, so the most specific
 * suffix is tried first and the name is whatever stands before it (as Distribution's router does).
 */
const READ = 'content/read' as const;
const WRITE = 'content/write' as const;
const DELETE = 'content/delete' as const;

const ROUTES: Route<Access>[] = [
  { pattern: /^(.+)\/tags\/list$/, methods: { GET: listTags, HEAD: listTags }, auth: { GET: READ, HEAD: READ } },
  {
    pattern: /^(.+)\/manifests\/([^/]+)$/,
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
    auth: { GET: READ, HEAD: READ, PUT: WRITE, DELETE: DELETE },
  },
  { pattern: /^(.+)\/blobs\/uploads\/?()$/, methods: { POST: startUpload }, auth: { POST: WRITE }, extra: { POST: 'write' } },
  {
    pattern: /^(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: { GET: uploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload },
    auth: { GET: WRITE, PATCH: WRITE, PUT: WRITE, DELETE: WRITE },
    extra: { PATCH: 'write', PUT: 'write' },
  },
  {
    pattern: /^(.+)\/blobs\/([^/]+)$/,
    methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
    auth: { GET: READ, HEAD: READ, DELETE: DELETE },
    extra: { GET: 'read', HEAD: 'read', DELETE: 'delete' },
  },
  { pattern: /^(.+)\/referrers\/([^/]+)$/, methods: { GET: listReferrers }, auth: { GET: READ } },
];

/** Handles a request whose raw path starts with `/v2/`; `url` carries the query. */
export async function routeV2(req: IncomingMessage, res: ServerResponse, path: string, url: URL, services: RegistryServices, caller: Caller): Promise<void> {
  const rest = path.slice('/v2/'.length);
  const method = req.method ?? 'GET';
  if (rest === '') {
    if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('UNSUPPORTED', `${method} is not supported on /v2/`);
    services.access.requireAuthenticated(req, caller);
    sendJson(res, 200, {});
    return;
  }
  if (rest === '_catalog') {
    if (method !== 'GET') throw new RegistryError('UNSUPPORTED', `${method} is not supported on /v2/_catalog`);
    services.access.authorizeCatalog(req, caller);
    const { body, headers } = await catalog(url, services, caller);
    sendJson(res, 200, body, headers);
    return;
  }
  const found = matchRoute(ROUTES, rest, req, res, url, services, caller);
  if (found) {
    const action = found.route.extra?.[method];
    if (action) assertRepository(services.meta, found.ctx.name, action);
    await found.handler(found.ctx);
    return;
  }
  throw new RegistryError('UNSUPPORTED', `no API route for ${path.slice(0, 300)}`, { status: 404 });
}
