import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { basic } from '../helpers/auth.js';
import { req } from '../helpers/http.js';
import { makeImage, makeIndex, writeOciLayout } from '../helpers/images.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** `manifold user …` / `token …` offline and online, and `manifold login` against Manifold's own token flow. */
describe('manifold user and token', () => {
  let cli: Cli;
  let data: string;
  let srv: TestServer | undefined;

  before(async () => {
    cli = await Cli.create();
    data = join(cli.home, 'data');
  });
  after(async () => {
    await srv?.stop();
    await cli.dispose();
  });

  test('offline: create an admin, list without secrets, refuse bad input', async () => {
    const created = JSON.parse((await cli.ok(['user', 'create', 'root', '--admin', '--password-stdin', '--data', data], { input: 'root-password\n' })).stdout) as { name: string; admin: boolean };
    assert.deepEqual({ name: created.name, admin: created.admin }, { name: 'root', admin: true });
    const list = (await cli.ok(['user', 'list', '--data', data])).stdout;
    assert.match(list, /"root"/);
    assert.doesNotMatch(list, /root-password|scrypt/);
    assert.match(await cli.fails(['user', 'create', 'root', '-p', 'another-password', '--data', data]), /already taken/);
    assert.match(await cli.fails(['user', 'create', 'x y', '-p', 'long-enough', '--data', data]), /invalid name/);
    assert.match(await cli.fails(['user', 'create', 'short', '-p', 'abc', '--data', data]), /at least 8 characters/);
    assert.match(await cli.fails(['token', 'create', 't', 'team/*:content/fly', '--data', data]), /unknown action "content\/fly"/);
    assert.match(await cli.fails(['token', 'create', 't', 'Team:content/read', '--data', data]), /not a repository name/);
  });

  test('online: a scoped token made through the admin API pushes where it may, and nowhere else', async () => {
    srv = await startTestServer({ dataDir: data });
    assert.match(await cli.fails(['token', 'list', '--registry', srv.host]), /requires a login|authentication required/);
    await cli.ok(['login', srv.host, '-u', 'root', '--password-stdin'], { input: 'root-password\n' });
    const token = JSON.parse((await cli.ok(['token', 'create', 'ci', 'team/*:content/read,content/write', '--expires', '1h', '--registry', srv.host])).stdout) as {
      name: string;
      password: string;
      expiryTime: string;
    };
    assert.equal(token.name, 'ci');
    assert.ok(token.password.length >= 40);
    assert.ok(Date.parse(token.expiryTime) > Date.now());
    // the metadata verbs use the same stored login and token flow
    assert.equal((await cli.ok(['repository', 'list', '--registry', srv.host])).stdout.trim(), '[]');
    const listed = (await cli.ok(['token', 'list', '--registry', srv.host])).stdout;
    assert.doesNotMatch(listed, new RegExp(token.password), 'the password is shown once only');

    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    const layout = join(cli.home, 'layout');
    await writeOciLayout(layout, [img], makeIndex([img]), 'v1');
    await cli.ok(['logout', srv.host]);
    await cli.ok(['login', srv.host, '-u', 'ci', '--password-stdin'], { input: `${token.password}\n` });
    await cli.ok(['push', `oci:${layout}:v1`, `${srv.host}/team/app:v1`]);
    assert.match(await cli.fails(['push', `oci:${layout}:v1`, `${srv.host}/other/app:v1`]), /other\/app.*403 DENIED/);
    assert.match(await cli.fails(['token', 'list', '--registry', srv.host]), /DENIED|not an administrator/);

    // disable offline while the server runs: refused at once
    await cli.ok(['token', 'disable', 'ci', '--data', data]);
    assert.equal((await req(srv.url, '/v2/', { headers: { Authorization: basic('ci', token.password) } })).status, 401);
    await cli.ok(['token', 'enable', 'ci', '--data', data]);
    assert.equal((await req(srv.url, '/v2/', { headers: { Authorization: basic('ci', token.password) } })).status, 200);
    await cli.ok(['token', 'delete', 'ci', '--creds', 'root:root-password', '--registry', srv.host]);
    assert.equal((await req(srv.url, '/v2/', { headers: { Authorization: basic('ci', token.password) } })).status, 401);
    assert.match(await cli.fails(['token', 'delete', 'ci', '--data', data]), /no token "ci"/);
    await cli.ok(['user', 'delete', 'root', '--data', data]);
  });
});
