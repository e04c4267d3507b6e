import assert from 'node:assert/strict';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { addToken, addUser, basic, bearer } from '../helpers/auth.js';
import { pushImage, req } from '../helpers/http.js';
import { makeImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Bearer tokens: only this registry's signatures, claims and lifetimes are accepted. */
describe('bearer tokens', () => {
  let srv: TestServer;
  const pull = (authorization: string) => req(srv.url, '/v2/team/app/manifests/v1', { headers: { Authorization: authorization, Accept: ALL_MANIFEST_TYPES } });
  const access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
  const sign = (key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown> = {}, alg = 'ES256') =>
    new SignJWT({ access, ...claims }).setProtectedHeader({ alg }).setIssuer('manifold').setSubject('user:bob').setAudience('manifold').setIssuedAt().setExpirationTime('5m').sign(key);

  before(async () => {
    srv = await startTestServer({ loginFailureLimit: 1000 });
    await pushImage(srv.url, 'team/app', await makeImage({ os: 'linux', architecture: 'amd64' }), 'v1');
    await addUser(srv, 'bob', 'bob-password');
  });
  after(() => srv.stop());

  test('a token from /oauth2/token works, and keeps working after a restart (the key is kept)', async () => {
    const t = await bearer(srv, basic('bob', 'bob-password'), ['repository:team/app:pull']);
    assert.equal((await pull(t)).status, 200);
    const again = await startTestServer({ dataDir: srv.dataDir });
    try {
      assert.equal((await req(again.url, '/v2/team/app/manifests/v1', { headers: { Authorization: t, Accept: ALL_MANIFEST_TYPES } })).status, 200);
    } finally {
      await again.stop();
    }
  });

  test('signed by another key, tampered, alg none, expired, wrong audience: all refused with 401 invalid_token', async () => {
    const own = createPrivateKey(await readFile(join(srv.dataDir, 'auth', 'signing-key.pem')));
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const good = await sign(own);
    assert.equal((await pull(`Bearer ${good}`)).status, 200, 'the forging helper itself is right');

    const [h, p, sig] = good.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }] })).toString('base64url');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    const cases: Record<string, string> = {
      'another key': await sign(stranger),
      'tampered claims': `${h}.${widened}.${sig}`,
      'alg none': none,
      'HS256 (a symmetric algorithm)': await sign(new TextEncoder().encode('x'.repeat(32)), {}, 'HS256'),
      expired: await new SignJWT({ access }).setProtectedHeader({ alg: 'ES256' }).setIssuer('manifold').setSubject('user:bob').setAudience('manifold').setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 300).sign(own),
      'wrong audience': await new SignJWT({ access }).setProtectedHeader({ alg: 'ES256' }).setIssuer('manifold').setSubject('user:bob').setAudience('elsewhere').setExpirationTime('5m').sign(own),
      'unknown subject': await new SignJWT({ access }).setProtectedHeader({ alg: 'ES256' }).setIssuer('manifold').setSubject('user:mallory').setAudience('manifold').setExpirationTime('5m').sign(own),
      'a refresh token': await sign(own, { kind: 'refresh' }),
      garbage: 'not.a.jwt',
    };
    for (const [what, token] of Object.entries(cases)) {
      const res = await pull(`Bearer ${token}`);
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
    }
  });

  test('POST /oauth2/token: password grant with a refresh token, refresh grant, and refusals', async () => {
    const form = (fields: Record<string, string>) => fetch(`${srv.url}/oauth2/token`, { method: 'POST', body: new URLSearchParams({ service: 'manifold', ...fields }) });
    const res = await form({ grant_type: 'password', username: 'bob', password: 'bob-password', access_type: 'offline', client_id: 'test', scope: 'repository:team/app:pull' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
    assert.equal(body.expires_in, 300);
    assert.equal((await pull(`Bearer ${body.access_token}`)).status, 200);
    const refreshed = (await (await form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: 'repository:team/app:pull' })).json()) as { access_token: string };
    assert.equal((await pull(`Bearer ${refreshed.access_token}`)).status, 200);

    assert.equal((await form({ grant_type: 'password', username: 'bob', password: 'nope' })).status, 401);
    assert.equal((await form({ grant_type: 'refresh_token', refresh_token: refreshed.access_token })).status, 401, 'an access token is no refresh token');
    assert.equal((await form({ grant_type: 'client_credentials' })).status, 400);
    assert.equal((await fetch(`${srv.url}/oauth2/token?service=other`)).status, 400);
  });

  test('deleting a user or disabling a token revokes its tokens at once', async () => {
    const secret = addToken(srv, 'short', ['team/*:content/read']);
    const t = await bearer(srv, basic('short', secret), ['repository:team/app:pull']);
    assert.equal((await pull(t)).status, 200);
    srv.services.access.store.setTokenDisabled('short', true);
    assert.equal((await pull(t)).status, 401);
    assert.equal((await pull(basic('short', secret))).status, 401);
    await addUser(srv, 'temp', 'temp-password');
    const u = await bearer(srv, basic('temp', 'temp-password'), ['repository:team/app:pull']);
    srv.services.access.store.deleteUser('temp');
    assert.equal((await pull(u)).status, 401);
  });
});
