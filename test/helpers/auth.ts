import { createToken, createUser } from '../../src/registry/auth/management.js';
import { parseScopeSpecs } from '../../src/registry/auth/scopes.js';
import type { TestServer } from './server.js';

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Creates a user in a running test server's auth store (as `manifold user create --data` would). */
export async function addUser(srv: TestServer, name: string, password: string, admin = false): Promise<void> {
  await createUser(srv.services.access.store, { name, password, admin });
}

/** Creates a token and returns its password. */
export function addToken(srv: TestServer, name: string, scopes: string[], expiresInMs?: number): string {
  return createToken(srv.services.access.store, { name, scopes: parseScopeSpecs(scopes), expiresInMs }).password;
}

/** A bearer token from the registry's own /oauth2/token, for the given credentials and scopes. */
export async function bearer(srv: TestServer, authorization: string | undefined, scopes: string[]): Promise<string> {
  const q = new URLSearchParams({ service: 'manifold' });
  for (const s of scopes) q.append('scope', s);
  const res = await fetch(`${srv.url}/oauth2/token?${q}`, { headers: authorization ? { Authorization: authorization } : {} });
  if (res.status !== 200) throw new Error(`token request: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}
