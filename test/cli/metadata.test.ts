import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { getJson, pushMultiArchRepo } from '../helpers/acr.js';
import { pushImage, pushManifest } from '../helpers/http.js';
import { makeImage } from '../helpers/images.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The metadata commands of the real `bin/manifold.js`, against a real server. */

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'manifold.js');
const execFileP = promisify(execFile);

let srv: TestServer;
let fx: Awaited<ReturnType<typeof pushMultiArchRepo>>;
before(async () => {
  srv = await startTestServer();
  fx = await pushMultiArchRepo(srv.url, 'cli/app');
});
after(() => srv.stop());

/** Runs the CLI with MANIFOLD_REGISTRY pointing at the test server. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [BIN, ...args], { env: { ...process.env, MANIFOLD_REGISTRY: srv.host } });
  return stdout;
}
const cliJson = async <T = unknown>(...args: string[]): Promise<T> => JSON.parse(await cli(...args)) as T;

/** Runs the CLI expecting failure: exit 1 and one line `manifold: …` on stderr. */
async function cliFails(pattern: RegExp, ...args: string[]): Promise<void> {
  await assert.rejects(cli(...args), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1, e.stderr);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, /^manifold: /);
    assert.match(e.stderr, pattern);
    return true;
  });
}

/** A loopback port nothing listens on (one just freed). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

interface Manifest {
  digest: string;
  tags: string[];
  references?: { digest: string }[];
  changeableAttributes: { writeEnabled: boolean };
}

describe('manifold manifest list-metadata / show-metadata', () => {
  test('JSON by default: the API\'s manifests, all pages', async () => {
    const listed = await cliJson<Manifest[]>('manifest', 'list-metadata', 'cli/app');
    const api = (await getJson<{ manifests: Manifest[] }>(srv.url, '/acr/v1/cli/app/_manifests')).body.manifests;
    assert.deepEqual(listed, api);
    assert.equal(listed.length, 6);
  });
  test('--orderby time_desc --top N: the N newest', async () => {
    const api = (await getJson<{ manifests: Manifest[] }>(srv.url, '/acr/v1/cli/app/_manifests?orderby=timedesc')).body.manifests;
    const top = await cliJson<Manifest[]>('manifest', 'list-metadata', 'cli/app', '--orderby', 'time_desc', '--top', '2');
    assert.deepEqual(top.map((m) => m.digest), api.slice(0, 2).map((m) => m.digest));
    const asc = await cliJson<Manifest[]>('manifest', 'list-metadata', 'cli/app', '--orderby', 'time_asc');
    assert.deepEqual(asc.map((m) => m.digest), api.map((m) => m.digest).reverse());
  });
  test('--output table: an index is a row and then one row per platform, attestations marked', async () => {
    const out = await cli('manifest', 'list-metadata', 'cli/app', '-o', 'table');
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^DIGEST\s+TAGS\s+PLATFORM\s+SIZE\s+UPDATED\s+DISABLED$/);
    const at = lines.findIndex((l) => l.startsWith(fx.index.digest));
    assert.match(lines[at]!, /1\.0,latest\s+index \(2 platforms\)/);
    const children = lines.slice(at + 1, at + 5);
    assert.deepEqual(children.map((l) => l.split(/\s+/)[2]), [fx.amd.manifest.digest, fx.arm.manifest.digest, ...fx.attestations.map((a) => a.manifest.digest)]);
    assert.match(children[0]!, /linux\/amd64/);
    assert.match(children[1]!, /linux\/arm64\/v8/);
    assert.match(children[2]!, /attestation/);
  });
  test('show-metadata by tag, with the registry in the reference', async () => {
    const m = await cliJson<Manifest>('manifest', 'show-metadata', `${srv.host}/cli/app:1.0`, '--registry', '192.0.2.1:1');
    assert.equal(m.digest, fx.index.digest);
    assert.deepEqual(m.tags, ['1.0', 'latest']);
    assert.equal(m.references?.length, 4);
    const byDigest = await cliJson<Manifest>('manifest', 'show-metadata', `cli/app@${fx.arm.manifest.digest}`);
    assert.equal(byDigest.digest, fx.arm.manifest.digest);
    const table = await cli('manifest', 'show-metadata', 'cli/app:latest', '--output', 'table');
    assert.equal(table.split('\n').filter((l) => l.includes('└')).length, 4);
  });
});

describe('locking from the CLI', () => {
  test('update-metadata REPO:TAG --write-enabled false locks the tag; a push and a delete are refused', async () => {
    const img = await makeImage({ os: 'linux', architecture: 'amd64' });
    await pushImage(srv.url, 'cli/locked', img, '1.0');
    const tag = await cliJson<{ name: string; changeableAttributes: { writeEnabled: boolean; deleteEnabled: boolean } }>(
      'manifest', 'update-metadata', 'cli/locked:1.0', '--write-enabled', 'false',
    );
    assert.equal(tag.name, '1.0');
    assert.deepEqual(tag.changeableAttributes, { deleteEnabled: true, writeEnabled: false, readEnabled: true, listEnabled: true });
    assert.equal((await pushManifest(srv.url, 'cli/locked', '1.0', img.manifest)).status, 403);
    await cliFails(/DENIED: tag cli\/locked:1\.0 .*locked \(writeEnabled: false\)/, 'manifest', 'delete', 'cli/locked:1.0', '--yes');
    await cliFails(/DENIED/, 'repository', 'delete', 'cli/locked', '--yes');
    const m = await cliJson<Manifest>('manifest', 'update-metadata', `cli/locked@${img.manifest.digest}`, '--delete-enabled', 'false');
    assert.equal(m.digest, img.manifest.digest);
    const repo = await cliJson<{ changeableAttributes: { listEnabled: boolean } }>('repository', 'update', 'cli/locked', '--list-enabled', 'false');
    assert.equal(repo.changeableAttributes.listEnabled, false);
    assert.ok(!(await cliJson<string[]>('repository', 'list')).includes('cli/locked'));
  });
  test('update-metadata needs something to change, and booleans', async () => {
    await cliFails(/nothing to change/, 'manifest', 'update-metadata', 'cli/app:1.0');
    await cliFails(/expected true or false/, 'manifest', 'update-metadata', 'cli/app:1.0', '--write-enabled', 'maybe');
  });
});

describe('manifold repository', () => {
  test('list, show, show-tags, show-manifests', async () => {
    assert.ok((await cliJson<string[]>('repository', 'list')).includes('cli/app'));
    assert.equal((await cli('repository', 'list', '-o', 'table')).split('\n')[0], 'REPOSITORY');
    const repo = await cliJson<{ imageName: string; tagCount: number; registry: string }>('repository', 'show', 'cli/app');
    assert.deepEqual([repo.imageName, repo.tagCount, repo.registry], ['cli/app', 4, srv.host]);
    const tag = await cliJson<{ name: string; digest: string }>('repository', 'show', 'cli/app:amd64');
    assert.equal(tag.digest, fx.amd.manifest.digest);
    assert.deepEqual(await cliJson('repository', 'show-tags', 'cli/app'), ['1.0', 'amd64', 'arm64', 'latest']);
    assert.deepEqual(await cliJson('repository', 'show-tags', 'cli/app', '--orderby', 'time_desc', '--top', '2'), ['latest', '1.0']);
    const detail = await cliJson<{ name: string; signed: boolean }[]>('repository', 'show-tags', 'cli/app', '--detail');
    assert.equal(detail.find((t) => t.name === 'latest')!.signed, true);
    assert.match(await cli('repository', 'show-tags', 'cli/app', '--detail', '-o', 'table'), /^TAG\s+DIGEST\s+UPDATED\s+SIGNED\s+DISABLED\n1\.0\s+sha256:/);
    const brief = await cliJson<{ digest: string; tags: string[]; timestamp: string }[]>('repository', 'show-manifests', 'cli/app');
    assert.deepEqual(brief.find((m) => m.digest === fx.index.digest)!.tags, ['1.0', 'latest']);
    assert.equal((await cliJson<Manifest[]>('repository', 'show-manifests', 'cli/app', '--detail')).length, 6);
  });
  test('untag removes a tag, manifest delete removes a manifest with its tags, delete removes a repository', async () => {
    const a = await makeImage({ os: 'linux', architecture: 'amd64' });
    const b = await makeImage({ os: 'linux', architecture: 'arm64' });
    await pushImage(srv.url, 'cli/tmp', a, 'a1');
    await pushManifest(srv.url, 'cli/tmp', 'a2', a.manifest);
    await pushImage(srv.url, 'cli/tmp', b, 'b1');
    assert.deepEqual(await cliJson('repository', 'untag', 'cli/tmp:a2'), { repository: 'cli/tmp', tag: 'a2', digest: a.manifest.digest });
    assert.deepEqual(await cliJson('manifest', 'delete', 'cli/tmp:a1', '--yes'), { digest: a.manifest.digest, tagsDeleted: ['a1'] });
    assert.equal((await getJson(srv.url, `/acr/v1/cli/tmp/_manifests/${a.manifest.digest}`)).status, 404);
    await cliFails(/refusing without --yes/, 'repository', 'delete', 'cli/tmp');
    assert.deepEqual(await cliJson('repository', 'delete', 'cli/tmp', '--yes'), { manifestsDeleted: [b.manifest.digest], tagsDeleted: ['b1'] });
    await cliFails(/NAME_UNKNOWN/, 'repository', 'show', 'cli/tmp');
  });
  test('bad arguments and an unreachable registry are one clear line', async () => {
    await cliFails(/expected a repository/, 'manifest', 'list-metadata', 'cli/app:1.0');
    await cliFails(/expected REPO:TAG or REPO@DIGEST/, 'manifest', 'show-metadata', 'cli/app');
    await cliFails(/positive whole number/, 'manifest', 'list-metadata', 'cli/app', '--top', '0');
    await cliFails(/invalid repository name/, 'repository', 'show', 'Cli/App');
    await cliFails(/MANIFEST_UNKNOWN/, 'manifest', 'show-metadata', 'cli/app:nope');
    const closed = await unusedPort();
    await cliFails(new RegExp(`cannot reach 127\\.0\\.0\\.1:${closed} .*ECONNREFUSED`), 'repository', 'list', '--registry', `127.0.0.1:${closed}`);
  });
});
