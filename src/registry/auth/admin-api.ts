/**
 * `/manifold/v1/users` and `/manifold/v1/tokens`: the online side of `manifold user …` and
 * `manifold token …`, for administrators only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../../oci/errors.js';
import type { RegistryServices } from '../context.js';
import { readJsonObject, sendEmpty, sendJson } from '../http.js';
import { describe, type Caller } from './access.js';
import { createToken, createUser, parseDuration, tokenView, userView } from './management.js';
import { parseScopeSpecs, validateScopeMap } from './scopes.js';

function badRequest(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}

function notFound(kind: string, name: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `no ${kind} ${JSON.stringify(name)}`, { status: 404 });
}

/** Runs a management step, turning its validation errors into 400s. */
async function validated<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof RegistryError) throw e;
    throw badRequest((e as Error).message);
  }
}

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, s: RegistryServices, caller: Caller): Promise<void> {
  s.access.requireAdmin(req, caller);
  const store = s.access.store;
  const m = /^\/manifold\/v1\/(users|tokens)(?:\/([^/]+))?$/.exec(path);
  if (!m) throw new RegistryError('UNSUPPORTED', `no admin route for ${path.slice(0, 200)}`, { status: 404 });
  const [, collection, rawName] = m;
  const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
  const who = describe(caller.principal);
  const method = req.method ?? 'GET';

  if (collection === 'users') {
    if (name === undefined && method === 'GET') return sendJson(res, 200, { users: store.listUsers().map(userView) });
    if (name === undefined && method === 'POST') {
      const body = await readJsonObject(req, 64 * 1024);
      const view = await validated(() => createUser(store, { name: body.name, password: body.password, admin: body.admin }));
      s.access.audit.record({ event: 'user-created', who, ip: caller.ip, user: view.name, admin: view.admin });
      return sendJson(res, 201, view);
    }
    if (name !== undefined && method === 'DELETE') {
      if (!store.deleteUser(name)) throw notFound('user', name);
      s.access.audit.record({ event: 'user-deleted', who, ip: caller.ip, user: name });
      return sendEmpty(res, 204);
    }
  } else {
    if (name === undefined && method === 'GET') return sendJson(res, 200, { tokens: store.listTokens().map((t) => tokenView(t)) });
    if (name === undefined && method === 'POST') {
      const body = await readJsonObject(req, 64 * 1024);
      const created = await validated(() => {
        // Scopes as the CLI writes them (["team/*:content/read"]) or as a map of pattern to actions.
        const scopes = Array.isArray(body.scopes) ? parseScopeSpecs(body.scopes.map(String)) : validateScopeMap(body.scopes);
        const expiresInMs = body.expiresIn === undefined || body.expiresIn === null ? undefined : parseDuration(String(body.expiresIn));
        return createToken(store, { name: body.name, scopes, expiresInMs });
      });
      s.access.audit.record({ event: 'token-created', who, ip: caller.ip, token: created.name, scopes: created.scopes });
      return sendJson(res, 201, created);
    }
    if (name !== undefined && method === 'PATCH') {
      const body = await readJsonObject(req, 64 * 1024);
      if (typeof body.disabled !== 'boolean' || Object.keys(body).length !== 1) throw badRequest('PATCH takes {"disabled": true|false}');
      if (!store.setTokenDisabled(name, body.disabled)) throw notFound('token', name);
      s.access.audit.record({ event: body.disabled ? 'token-disabled' : 'token-enabled', who, ip: caller.ip, token: name });
      return sendJson(res, 200, tokenView(store.getToken(name)!));
    }
    if (name !== undefined && method === 'DELETE') {
      if (!store.deleteToken(name)) throw notFound('token', name);
      s.access.audit.record({ event: 'token-deleted', who, ip: caller.ip, token: name });
      return sendEmpty(res, 204);
    }
  }
  throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${path.slice(0, 200)}`, { status: 405 });
}
