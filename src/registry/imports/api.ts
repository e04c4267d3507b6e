/**
 * `/manifold/v1/imports`: start an import (`POST`, 202 with the job), watch it (`GET …/ID`), list
 * recent ones (`GET`). Starting needs write access to every target repository; watching needs read
 * access to the first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../../oci/errors.js';
import type { Caller } from '../auth/access.js';
import type { RegistryServices } from '../context.js';
import { readJsonObject, sendJson } from '../http.js';
import { parseImportRequest, type ImportStatus } from './jobs.js';

function firstRepository(job: ImportStatus): string {
  return job.targets[0]!.split(':')[0]!;
}

export async function handleImports(req: IncomingMessage, res: ServerResponse, path: string, s: RegistryServices, caller: Caller): Promise<void> {
  const m = /^\/manifold\/v1\/imports(?:\/([^/]+))?$/.exec(path);
  if (!m) throw new RegistryError('UNSUPPORTED', `no route for ${path.slice(0, 200)}`, { status: 404 });
  const id = m[1];
  const method = req.method ?? 'GET';
  if (id === undefined && method === 'POST') {
    const request = parseImportRequest(await readJsonObject(req, 64 * 1024));
    for (const t of request.targets) s.access.authorize(req, caller, t.repository, 'content/write');
    const job = s.imports.start(s, request, caller);
    sendJson(res, 202, job, { Location: `/manifold/v1/imports/${job.id}` });
    return;
  }
  if (method !== 'GET') throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${path.slice(0, 200)}`, { status: 405 });
  if (id === undefined) {
    sendJson(res, 200, { imports: s.imports.list().filter((j) => s.access.can(caller, firstRepository(j), 'content/read')) });
    return;
  }
  const job = s.imports.get(id);
  if (!job) throw new RegistryError('NAME_UNKNOWN', `no import job ${JSON.stringify(id)} (jobs are kept in memory until the registry restarts)`, { status: 404 });
  s.access.authorize(req, caller, firstRepository(job), 'content/read');
  sendJson(res, 200, job);
}
