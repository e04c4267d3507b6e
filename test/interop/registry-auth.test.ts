import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, makeIndex, writeOciLayout, type Blob, type TestImage } from '../helpers/images.js';
import { startTokenIssuer, type TokenIssuer } from '../helpers/token-issuer.js';
import { tool } from '../helpers/tools.js';

const readAuths = async (cli: Cli) => (JSON.parse(await readFile(join(cli.home, 'config.json'), 'utf8')) as { auths?: Record<string, { auth: string }> }).auths ?? {};

/**
 * `manifold login`/`logout` and every command's credentials, against the real CNCF Distribution:
 * with htpasswd Basic auth, and with Docker token (Bearer) auth.
 */
describe('registry authentication (CNCF Distribution)', () => {
  let images: TestImage[];
  let index: Blob;
  let layoutDir: string;
  let cli: Cli;

  before(async () => {
    cli = await Cli.create();
    images = [await makeImage({ os: 'linux', architecture: 'amd64' }), await makeImage({ os: 'linux', architecture: 'arm64' })];
    index = makeIndex(images);
    layoutDir = join(cli.home, 'layout');
    await writeOciLayout(layoutDir, images, index, 'v1');
  });
  after(() => cli.dispose());

  describe('Basic (htpasswd)', () => {
    let reg: Distribution;
    before(async () => {
      reg = await startDistribution({ htpasswd: { alice: 's3cret' } });
    });
    after(() => reg.stop());

    test('a wrong password is refused and nothing is stored', async () => {
      const err = await cli.fails(['login', reg.host, '-u', 'alice', '--password-stdin'], { input: 'wrong\n' });
      assert.match(err, /credentials refused/);
      assert.deepEqual(await readAuths(cli), {});
    });

    test('no login: a push says how to log in', async () => {
      assert.match(await cli.fails(['push', `oci:${layoutDir}:v1`, `${reg.host}/app:v1`]), /requires a login: run `manifold login 127\.0\.0\.1:\d+`/);
    });

    test('login stores docker-format credentials that manifold and docker both use', async () => {
      const r = await cli.ok(['login', reg.host, '-u', 'alice', '--password-stdin'], { input: 's3cret\n' });
      assert.match(r.stdout, /Login Succeeded/);
      assert.equal(Buffer.from((await readAuths(cli))[reg.host]!.auth, 'base64').toString(), 'alice:s3cret');

      const pushed = await cli.ok(['push', `oci:${layoutDir}:v1`, `${reg.host}/app:v1`]);
      assert.equal(pushed.stdout.trim(), index.digest);
      const pulled = await cli.ok(['pull', '--platform', 'linux/arm64', `${reg.host}/app:v1`, `oci:${join(cli.home, 'out')}:v1`]);
      assert.equal(pulled.stdout.trim(), images[1]!.manifest.digest);
      // the docker CLI reads the same config.json
      const inspected = JSON.parse(await tool('docker', ['manifest', 'inspect', '--insecure', `${reg.host}/app:v1`], { ...process.env, DOCKER_CONFIG: cli.home })) as { manifests: unknown[] };
      assert.equal(inspected.manifests.length, 2);
    });

    test('logout forgets the login; --creds works without one', async () => {
      assert.match((await cli.ok(['logout', reg.host])).stdout, /Removing login credentials/);
      assert.deepEqual(await readAuths(cli), {});
      assert.match((await cli.ok(['logout', reg.host])).stdout, /Not logged in/);
      assert.match(await cli.fails(['manifest', 'inspect', `${reg.host}/app:v1`]), /requires a login/);
      const r = await cli.ok(['manifest', 'inspect', '--raw', '--creds', 'alice:s3cret', `${reg.host}/app:v1`]);
      assert.ok(Buffer.from(r.stdout).equals(index.bytes));
    });
  });

  describe('Bearer (Docker token flow)', () => {
    let issuer: TokenIssuer;
    let reg: Distribution;
    before(async () => {
      issuer = await startTokenIssuer({ bob: 'hunter2' });
      reg = await startDistribution({ token: issuer });
    });
    after(async () => {
      await reg.stop();
      await issuer.stop();
    });

    test('login follows the challenge to the token service', async () => {
      assert.match(await cli.fails(['login', reg.host, '-u', 'bob', '-p', 'nope']), /login refused by http:\/\/127\.0\.0\.1:\d+\/token/);
      assert.match((await cli.ok(['login', reg.host, '-u', 'bob', '-p', 'hunter2'])).stdout, /Login Succeeded/);
    });

    test('push, cross-repository copy and manifest push ask for the scopes they need', async () => {
      issuer.requests.length = 0;
      await cli.ok(['push', `oci:${layoutDir}:v1`, `${reg.host}/team/app:v1`]);
      assert.ok(issuer.requests.some((r) => r.user === 'bob' && r.scopes.includes('repository:team/app:pull,push')));

      issuer.requests.length = 0;
      const copied = await cli.ok(['copy', `${reg.host}/team/app:v1`, `${reg.host}/team/mirror:v1`]);
      assert.match(copied.stderr, /4 mounted/, 'mounted with a token covering both repositories');
      assert.ok(issuer.requests.some((r) => r.scopes.includes('repository:team/mirror:pull,push') && r.scopes.includes('repository:team/app:pull')));

      await cli.ok(['manifest', 'create', `${reg.host}/team/list:v1`, `${reg.host}/team/app@${images[0]!.manifest.digest}`, '--push']);
      const raw = await cli.ok(['manifest', 'inspect', `${reg.host}/team/list:v1`]);
      assert.equal((JSON.parse(raw.stdout) as { manifests: unknown[] }).manifests.length, 1);
    });

    test('without a login the token carries no access and the command says so', async () => {
      await cli.ok(['logout', reg.host]);
      assert.match(await cli.fails(['pull', `${reg.host}/team/app:v1`, `oci:${join(cli.home, 'anon')}`]), /authentication required: run `manifold login/);
    });
  });
});
