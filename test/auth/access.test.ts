import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addToken, addUser, basic, bearer } from '../helpers/auth.js';
import { pushBlob, pushImage, req } from '../helpers/http.js';
import { blob, makeImage, type TestImage } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Every action × every kind of caller, with credentials sent directly (Basic) and through the
 * token flow (Bearer). Statuses only: 401 means "authenticate", 403 "you may not", anything else
 * means the request got past authorization to the handler.
 */
describe('access control', () => {
  let srv: TestServer;
  let img: TestImage;
  const secrets: Record<string, string> = {};
  const missing = `sha256:${'0'.repeat(64)}`;

  before(async () => {
    // the matrix fails logins on purpose, far more than the lockout allows; the lockout has its own test
    srv = await startTestServer({ loginFailureLimit: 1_000_000 });
    img = await makeImage({ os: 'linux', architecture: 'amd64' });
    // filled while the registry is still open, then lock it by creating principals
    await pushImage(srv.url, 'team/app', img, 'v1');
    await pushImage(srv.url, 'other/app', img, 'v1');
    await addUser(srv, 'root', 'root-password', true);
    await addUser(srv, 'bob', 'bob-password');
    secrets.ci = addToken(srv, 'ci', ['team/*:content/read,content/write']);
    secrets.old = addToken(srv, 'old', ['team/*:content/read,content/write,content/delete'], 1);
    secrets.off = addToken(srv, 'off', ['team/*:content/read']);
    srv.services.access.store.setTokenDisabled('off', true);
    await new Promise((r) => setTimeout(r, 5)); // let `old` expire
  });
  after(() => srv.stop());

  const actions: Record<string, { method: string; path: string; body?: string; scope: string }> = {
    'pull team/app': { method: 'GET', path: '/v2/team/app/manifests/v1', scope: 'repository:team/app:pull' },
    'push team/app': { method: 'POST', path: '/v2/team/app/blobs/uploads/', scope: 'repository:team/app:pull,push' },
    'delete team/app': { method: 'DELETE', path: `/v2/team/app/manifests/${missing}`, scope: 'repository:team/app:delete' },
    'referrers team/app': { method: 'GET', path: `/v2/team/app/referrers/${missing}`, scope: 'repository:team/app:pull' },
    'tags team/app': { method: 'GET', path: '/v2/team/app/tags/list', scope: 'repository:team/app:pull' },
    'pull other/app': { method: 'GET', path: '/v2/other/app/manifests/v1', scope: 'repository:other/app:pull' },
    catalog: { method: 'GET', path: '/v2/_catalog', scope: 'registry:catalog:*' },
    'metadata read': { method: 'GET', path: '/acr/v1/team/app', scope: 'repository:team/app:metadata_read' },
    'metadata write': { method: 'PATCH', path: '/acr/v1/team/app/_tags/v1', body: '{}', scope: 'repository:team/app:metadata_write' },
    'acr delete': { method: 'DELETE', path: '/acr/v1/team/app/_tags/nope', scope: 'repository:team/app:delete' },
    'admin api': { method: 'GET', path: '/manifold/v1/users', scope: '' },
  };
  const ALLOWED = 'ok';
  // what each caller gets; ALLOWED = past authorization (any status the handler answers)
  const expected: Record<string, Record<string, number | string>> = {
    none: Object.fromEntries(Object.keys(actions).map((a) => [a, 401])),
    'wrong password': Object.fromEntries(Object.keys(actions).map((a) => [a, 401])),
    user: { ...Object.fromEntries(Object.keys(actions).map((a) => [a, ALLOWED])), 'admin api': 403 },
    'scoped token': {
      'pull team/app': ALLOWED,
      'push team/app': ALLOWED,
      'delete team/app': 403,
      'referrers team/app': ALLOWED,
      'tags team/app': ALLOWED,
      'pull other/app': 403,
      catalog: 403,
      'metadata read': 403,
      'metadata write': 403,
      'acr delete': 403,
      'admin api': 403,
    },
    'expired token': Object.fromEntries(Object.keys(actions).map((a) => [a, 401])),
    'disabled token': Object.fromEntries(Object.keys(actions).map((a) => [a, 401])),
    admin: Object.fromEntries(Object.keys(actions).map((a) => [a, ALLOWED])),
  };
  const credentials = (): Record<string, string | undefined> => ({
    none: undefined,
    'wrong password': basic('bob', 'nope'),
    user: basic('bob', 'bob-password'),
    'scoped token': basic('ci', secrets.ci!),
    'expired token': basic('old', secrets.old!),
    'disabled token': basic('off', secrets.off!),
    admin: basic('root', 'root-password'),
  });

  for (const mode of ['basic', 'bearer'] as const) {
    test(`every action × every caller (${mode})`, async () => {
      const failures: string[] = [];
      for (const [who, auth] of Object.entries(credentials())) {
        for (const [action, a] of Object.entries(actions)) {
          let authorization = auth;
          if (mode === 'bearer' && auth !== undefined) {
            // the token service refuses bad credentials itself; those callers keep their Basic header
            const t = await fetch(`${srv.url}/oauth2/token?service=manifold&scope=${encodeURIComponent(a.scope)}`, { headers: { Authorization: auth } });
            if (t.status === 200) authorization = `Bearer ${((await t.json()) as { token: string }).token}`;
            else assert.equal(t.status, 401, `${who}: token endpoint`);
          }
          const res = await req(srv.url, a.path, { method: a.method, headers: { ...(authorization ? { Authorization: authorization } : {}), 'Content-Type': 'application/json' }, body: a.body });
          const want = expected[who]![action]!;
          const got = res.status === 401 || res.status === 403 ? res.status : ALLOWED;
          if (got !== want) failures.push(`${who} / ${action}: got ${res.status}, want ${want}`);
          if (res.status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/oauth2\/token",service="manifold"/);
          await res.body?.cancel();
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  test('a token endpoint grant is the subset the principal has; bearer requests need it', async () => {
    const res = await fetch(`${srv.url}/oauth2/token?service=manifold&scope=repository:team/app:pull,push,delete&scope=repository:other/app:pull&scope=registry:catalog:*`, {
      headers: { Authorization: basic('ci', secrets.ci!) },
    });
    const { token } = (await res.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: unknown; sub: string; aud: string };
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    assert.equal(claims.sub, 'token:ci');
    // a user's pull-only token does not push: 401 insufficient_scope, so the client asks for more
    const pullOnly = await bearer(srv, basic('bob', 'bob-password'), ['repository:team/app:pull']);
    const push = await req(srv.url, '/v2/team/app/blobs/uploads/', { method: 'POST', headers: { Authorization: pullOnly } });
    assert.equal(push.status, 401);
    assert.match(push.headers.get('www-authenticate') ?? '', /scope="repository:team\/app:push",error="insufficient_scope"/);
  });

  test('the catalog lists only what the caller may see; /v2/ needs credentials once auth is on', async () => {
    const res = await req(srv.url, '/v2/_catalog', { headers: { Authorization: basic('bob', 'bob-password') } });
    assert.deepEqual(((await res.json()) as { repositories: string[] }).repositories, ['other/app', 'team/app']);
    assert.equal((await req(srv.url, '/v2/')).status, 401);
    assert.equal((await req(srv.url, '/v2/', { headers: { Authorization: basic('ci', secrets.ci!) } })).status, 200);
  });

  test('cross-repository mount without pull permission on the source is a plain upload, revealing nothing', async () => {
    const secret = blob('secret layer of another team');
    await pushBlob(srv.url, 'private/x', secret).catch(async () => {
      const r = await req(srv.url, `/v2/private/x/blobs/uploads/?digest=${secret.digest}`, { method: 'POST', headers: { Authorization: basic('root', 'root-password') }, body: secret.bytes });
      assert.equal(r.status, 201);
    });
    const ci = { Authorization: basic('ci', secrets.ci!) };
    const attempts = [
      `/v2/team/app/blobs/uploads/?mount=${secret.digest}&from=private/x`,
      `/v2/team/app/blobs/uploads/?mount=${missing}&from=private/x`,
      `/v2/team/app/blobs/uploads/?mount=${secret.digest}`,
    ];
    const shapes = [];
    for (const path of attempts) {
      const res = await req(srv.url, path, { method: 'POST', headers: ci });
      assert.equal(res.status, 202, path);
      shapes.push([...res.headers.keys()].filter((k) => k !== 'date' && k !== 'location' && k !== 'docker-upload-uuid').sort().join(','));
    }
    assert.equal(new Set(shapes).size, 1, 'same answer whether or not the blob exists there');
    assert.equal((await req(srv.url, `/v2/team/app/blobs/${secret.digest}`, { method: 'HEAD', headers: ci })).status, 404);
    // from a repository the token may read, the mount happens
    const own = await req(srv.url, `/v2/team/copy/blobs/uploads/?mount=${img.layers[0]!.digest}&from=team/app`, { method: 'POST', headers: ci });
    assert.equal(own.status, 201);
  });

  test('failed logins from one address are rate limited, with Retry-After', async () => {
    const limited = await startTestServer({ loginFailureLimit: 3 });
    try {
      await addUser(limited, 'eve', 'eve-password');
      for (let i = 0; i < 3; i++) assert.equal((await req(limited.url, '/v2/', { headers: { Authorization: basic('eve', 'guess') } })).status, 401);
      const locked = await req(limited.url, '/v2/', { headers: { Authorization: basic('eve', 'eve-password') } });
      assert.equal(locked.status, 429);
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
      assert.equal(((await locked.json()) as { errors: { code: string }[] }).errors[0]!.code, 'TOOMANYREQUESTS');
      const viaToken = await fetch(`${limited.url}/oauth2/token?service=manifold`, { headers: { Authorization: basic('eve', 'eve-password') } });
      assert.equal(viaToken.status, 429);
    } finally {
      await limited.stop();
    }
  });

  test('audit log: logins, pushes and deletes with who, what and when', async () => {
    const ci = basic('ci', secrets.ci!);
    await bearer(srv, ci, ['repository:team/app:pull']);
    const other = await makeImage({ os: 'linux', architecture: 'arm64' });
    for (const b of [other.config, ...other.layers]) {
      const r = await req(srv.url, `/v2/team/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', headers: { Authorization: ci }, body: b.bytes });
      assert.equal(r.status, 201);
    }
    const put = await req(srv.url, '/v2/team/app/manifests/arm64', { method: 'PUT', headers: { Authorization: ci, 'Content-Type': other.manifest.mediaType }, body: other.manifest.bytes });
    assert.equal(put.status, 201);
    const del = await req(srv.url, '/v2/team/app/manifests/arm64', { method: 'DELETE', headers: { Authorization: basic('root', 'root-password') } });
    assert.equal(del.status, 202);
    await req(srv.url, '/v2/', { headers: { Authorization: basic('ci', 'wrong') } });
    await new Promise((r) => setTimeout(r, 50));
    const lines = (await readFile(join(srv.dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const find = (event: string, who: string) => lines.find((l) => l.event === event && l.who === who);
    assert.ok(find('login', 'token ci'));
    const push = find('push', 'token ci');
    assert.equal(push?.path, '/v2/team/app/manifests/arm64');
    assert.equal(push?.digest, other.manifest.digest);
    assert.ok(find('delete', 'user root'));
    assert.ok(find('login-failed', 'ci'));
    assert.ok(lines.every((l) => !JSON.stringify(l).includes(secrets.ci!) && !JSON.stringify(l).includes('root-password')), 'no secret is ever logged');
    assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.time!))));
  });

  test('anonymous pull, per repository pattern', async () => {
    const open = await startTestServer({ anonymousPull: ['public/*'] });
    try {
      await pushImage(open.url, 'public/app', img, 'v1');
      await pushImage(open.url, 'private/app', img, 'v1');
      await addUser(open, 'root', 'root-password', true);
      const get = (repo: string, init: RequestInit = {}) => req(open.url, `/v2/${repo}/manifests/v1`, { ...init, headers: { Accept: ALL_MANIFEST_TYPES, ...init.headers } });
      assert.equal((await get('public/app')).status, 200);
      assert.equal((await get('private/app')).status, 401);
      assert.equal((await req(open.url, '/v2/public/app/blobs/uploads/', { method: 'POST' })).status, 401, 'pull only');
      const anon = await bearer(open, undefined, ['repository:public/app:pull,push', 'repository:private/app:pull']);
      const claims = JSON.parse(Buffer.from(anon.split('.')[1]!, 'base64url').toString()) as { access: unknown };
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'public/app', actions: ['pull'] }]);
      assert.equal((await get('public/app', { headers: { Authorization: anon } })).status, 200);
      assert.equal((await req(open.url, '/v2/_catalog')).status, 401);
    } finally {
      await open.stop();
    }
  });
});
