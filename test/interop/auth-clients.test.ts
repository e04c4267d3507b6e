import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addToken, addUser } from '../helpers/auth.js';
import { Cli } from '../helpers/cli.js';
import { pushImage } from '../helpers/http.js';
import { makeImage, makeIndex, writeOciLayout, type TestImage } from '../helpers/images.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skopeo, tool } from '../helpers/tools.js';
import { writeDirLayout } from './dir-layout.js';

/**
 * Manifold's token flow driven by real clients: skopeo with --creds, `docker login` (client side,
 * no daemon) followed by `docker manifest push`, and `manifold login`.
 */
describe('auth with real clients', () => {
  let srv: TestServer;
  let cli: Cli;
  let ciSecret: string;
  let images: TestImage[];
  let layout: string;
  const docker = (...args: string[]) => tool('docker', args, { ...process.env, DOCKER_CONFIG: cli.home });
  const fails = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail('expected a failure');
  };

  before(async () => {
    srv = await startTestServer({ anonymousPull: ['public/*'] });
    cli = await Cli.create();
    images = [await makeImage({ os: 'linux', architecture: 'amd64' }, 'docker'), await makeImage({ os: 'linux', architecture: 'arm64' }, 'docker')];
    await pushImage(srv.url, 'public/app', images[0]!, 'v1');
    await addUser(srv, 'root', 'root-password', true);
    ciSecret = addToken(srv, 'ci', ['team/*:content/read,content/write']);
    const oci = [await makeImage({ os: 'linux', architecture: 'amd64' }), await makeImage({ os: 'linux', architecture: 'arm64' })];
    layout = join(cli.home, 'layout');
    await writeOciLayout(layout, oci, makeIndex(oci), 'v1');
  });
  after(async () => {
    await srv.stop();
    await cli.dispose();
  });

  test('skopeo --creds: a scoped token pushes inside its scope only; wrong credentials fail', async () => {
    await skopeo(['copy', '--all', '--dest-creds', `ci:${ciSecret}`, `oci:${layout}:v1`, `docker://${srv.host}/team/app:v1`]);
    const raw = await skopeo(['inspect', '--raw', '--creds', `ci:${ciSecret}`, `docker://${srv.host}/team/app:v1`]);
    assert.equal((JSON.parse(raw) as { manifests: unknown[] }).manifests.length, 2);
    assert.match(await fails(skopeo(['copy', '--all', '--dest-creds', `ci:${ciSecret}`, `oci:${layout}:v1`, `docker://${srv.host}/other/app:v1`])), /denied|unauthorized|403/i);
    assert.match(await fails(skopeo(['inspect', '--raw', '--creds', 'ci:wrong', `docker://${srv.host}/team/app:v1`])), /unauthorized|401|invalid username/i);
  });

  test('skopeo without credentials: anonymous pull where allowed, refused elsewhere', async () => {
    const inspected = JSON.parse(await skopeo(['inspect', '--no-creds', `docker://${srv.host}/public/app:v1`])) as { Architecture: string };
    assert.equal(inspected.Architecture, 'amd64');
    assert.match(await fails(skopeo(['inspect', '--no-creds', `docker://${srv.host}/team/app:v1`])), /unauthorized|authentication required|401/i);
  });

  test('docker login (client side) then docker manifest create/push through the token flow', async () => {
    const login = await tool('sh', ['-c', `printf %s root-password | docker login ${srv.host} -u root --password-stdin`], { ...process.env, DOCKER_CONFIG: cli.home });
    assert.match(login, /Login Succeeded/);
    // per-architecture images pushed with the token's rights by skopeo, then listed by docker
    for (const [i, arch] of ['amd64', 'arm64'].entries()) {
      const dir = join(cli.home, `dir-${arch}`);
      await writeDirLayout(dir, [images[i]!]);
      await skopeo(['copy', '--dest-creds', `ci:${ciSecret}`, `dir:${dir}`, `docker://${srv.host}/team/myimage:${arch}`]);
    }
    const list = `${srv.host}/team/myimage:multi`;
    await docker('manifest', 'create', '--insecure', list, `${srv.host}/team/myimage:amd64`, `${srv.host}/team/myimage:arm64`);
    await docker('manifest', 'annotate', list, `${srv.host}/team/myimage:arm64`, '--variant', 'v8');
    const pushed = await docker('manifest', 'push', '--insecure', '--purge', list);
    assert.match(pushed, /sha256:[a-f0-9]{64}/);
    const inspected = JSON.parse(await docker('manifest', 'inspect', '--insecure', list)) as { manifests: { platform: { architecture: string } }[] };
    assert.deepEqual(inspected.manifests.map((m) => m.platform.architecture).sort(), ['amd64', 'arm64']);
    const audit = await readFile(join(srv.dataDir, 'audit.log'), 'utf8');
    assert.match(audit, /"event":"push","who":"user root",[^\n]*"path":"\/v2\/team\/myimage\/manifests\/multi"/);
  });

  test('manifold login with the docker-stored refresh token, and with a scoped token', async () => {
    // config.json now holds docker's identity token for root: manifold uses it as is
    const r = await cli.ok(['manifest', 'inspect', `${srv.host}/team/myimage:multi`]);
    assert.equal((JSON.parse(r.stdout) as { manifests: unknown[] }).manifests.length, 2);
    await cli.ok(['login', srv.host, '-u', 'ci', '--password-stdin'], { input: ciSecret });
    await cli.ok(['copy', `${srv.host}/team/app:v1`, `${srv.host}/team/copy:v1`]);
    assert.match(await cli.fails(['login', srv.host, '-u', 'ci', '-p', 'wrong']), /login refused/);
  });
});
