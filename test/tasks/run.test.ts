import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Cli } from '../helpers/cli.js';
import { pushImage, pushManifest, req } from '../helpers/http.js';
import { makeImage, makeIndex, sha256 } from '../helpers/images.js';
import { ALL_MANIFEST_TYPES } from '../helpers/mediatypes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skopeo } from '../helpers/tools.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'manifold.js');

interface Index {
  mediaType: string;
  manifests: { digest: string; platform: { os: string; architecture: string; variant?: string } }[];
}

const platformsOf = (doc: Index) => doc.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort();

/**
 * `manifold run` and `manifold task lint` end to end: the source page's example (fixed and as
 * published), against a live Manifold, with Dockerfiles the builtin builder handles.
 */
describe('manifold run: the multi-arch example', () => {
  let srv: TestServer;
  let cli: Cli;
  let ctx: string;

  const blobText = async (repo: string, digest: string) => Buffer.from(await (await req(srv.url, `/v2/${repo}/blobs/${digest}`)).arrayBuffer());
  const manifestOf = async (repo: string, ref: string) => {
    const res = await req(srv.url, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: ALL_MANIFEST_TYPES } });
    assert.equal(res.status, 200, `${repo}:${ref}`);
    return JSON.parse(await res.text()) as { config: { digest: string }; layers: { digest: string }[] };
  };

  before(async () => {
    srv = await startTestServer();
    cli = await Cli.create();
    // A multi-arch base in the test registry (no internet): one image per architecture.
    const amd = await makeImage({ os: 'linux', architecture: 'amd64' });
    const arm = await makeImage({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    await pushImage(srv.url, 'library/base', amd);
    await pushImage(srv.url, 'library/base', arm);
    assert.equal((await pushManifest(srv.url, 'library/base', '1.0', makeIndex([amd, arm]))).status, 201);
    ctx = await mkdtemp(join(tmpdir(), 'manifold-run-ctx-'));
    await writeFile(join(ctx, 'hello.txt'), 'hello from the build context\n');
    for (const arch of ['amd64', 'arm64']) {
      await writeFile(join(ctx, `dockerfile.${arch}`), [`FROM --platform=linux/${arch} ${srv.host}/library/base:1.0`, `COPY hello.txt /hello-${arch}.txt`, `CMD ["cat", "/hello-${arch}.txt"]`, ''].join('\n'));
    }
    for (const f of ['multi-arch.yaml', 'multi-arch-unfixed.yaml']) await copyFile(join(FIXTURES, f), join(ctx, f));
  });
  after(async () => {
    await srv.stop();
    await cli.dispose();
    await rm(ctx, { recursive: true, force: true });
  });

  test('the fixed example builds both architectures, pushes them and a multi-arch latest', async () => {
    const r = await cli.ok(['run', '-f', 'multi-arch.yaml', '.', '--registry', srv.host, '--id', 'ca7'], { cwd: ctx });
    // skopeo sees a list with both platforms
    const raw = await skopeo(['inspect', '--raw', `docker://${srv.host}/multi-arch-samples/myimage:latest`]);
    const list = JSON.parse(raw) as Index;
    assert.deepEqual(platformsOf(list), ['linux/amd64', 'linux/arm64']);
    // and so does manifold manifest inspect, with the same bytes
    const inspected = await cli.ok(['manifest', 'inspect', '--raw', `${srv.host}/multi-arch-samples/myimage:latest`]);
    assert.equal(inspected.stdout, raw);
    // each entry is the image built from its own Dockerfile: right architecture, right file
    for (const arch of ['amd64', 'arm64']) {
      const entry = list.manifests.find((m) => m.platform.architecture === arch)!;
      const m = await manifestOf('multi-arch-samples/myimage', entry.digest);
      const config = JSON.parse((await blobText('multi-arch-samples/myimage', m.config.digest)).toString()) as { architecture: string; config: { Cmd: string[] } };
      assert.equal(config.architecture, arch);
      assert.deepEqual(config.config.Cmd, ['cat', `/hello-${arch}.txt`]);
      const top = gunzipSync(await blobText('multi-arch-samples/myimage', m.layers[m.layers.length - 1]!.digest));
      assert.ok(top.includes(Buffer.from(`hello-${arch}.txt`)) && top.includes(Buffer.from('hello from the build context')));
      // the per-architecture tag the push step wrote is the same image
      assert.equal(sha256(JSON.stringify(await manifestOf('multi-arch-samples/myimage', `ca7-${arch}`))), sha256(JSON.stringify(m)));
    }
    // the summary table names every step with its images; docker manifest inspect printed the list
    const digest = sha256(raw);
    assert.match(r.stdout, new RegExp(`acb_step_4\\s+succeeded\\s+\\S+\\s+manifest ${srv.host}/multi-arch-samples/myimage:latest@${digest}`));
    assert.match(r.stdout, /acb_step_0\s+succeeded\s+\S+\s+built .*myimage:ca7-amd64@sha256:[0-9a-f]{64} \(linux\/amd64\)/);
    assert.match(r.stderr, /\[acb_step_5\]\s+"architecture": "arm64"/);
    // the run's local manifest list lived in its own directory, not the user's
    assert.deepEqual(await readdir(join(cli.home, 'manifold', 'manifests')).catch(() => []), []);
  });

  test('the example as published: lint flags myyimage and the swapped Dockerfiles; run fails before pushing anything', async () => {
    const lint = await cli.ok(['task', 'lint', 'multi-arch-unfixed.yaml', '.', '--registry', srv.host, '--id', 'ca8'], { cwd: ctx });
    const image = (name: string, tag: string) => `${srv.host}/multi-arch-samples/${name}:ca8-${tag}`;
    assert.ok(lint.stdout.includes(`multi-arch-unfixed.yaml:6: warning: step acb_step_2 pushes ${image('myimage', 'arm64')}, which no build step produces (did you mean ${image('myyimage', 'arm64')}, built by acb_step_1?)`), lint.stdout);
    assert.ok(lint.stdout.includes(`multi-arch-unfixed.yaml:4: warning: step acb_step_0: ${image('myimage', 'amd64')} is named for amd64 but is built for linux/arm64 (dockerfile.arm64's FROM --platform=linux/arm64): are the Dockerfiles swapped?`), lint.stdout);
    assert.ok(lint.stdout.includes(`multi-arch-unfixed.yaml:5: warning: step acb_step_1: ${image('myyimage', 'arm64')} is named for arm64 but is built for linux/amd64`), lint.stdout);
    assert.match(lint.stdout, /:9: warning: step acb_step_3: docker manifest create lists .*myimage:ca8-arm64, which no build step produces/);
    assert.match(await cli.fails(['task', 'lint', '--strict', join(ctx, 'multi-arch-unfixed.yaml'), ctx, '--registry', srv.host]), /manifold: .*multi-arch-unfixed.yaml: 4 warning\(s\)/);
    // the fixed file is clean
    assert.match((await cli.ok(['task', 'lint', 'multi-arch.yaml', '.', '--registry', srv.host], { cwd: ctx })).stdout, /6 step\(s\), no problems found/);

    const r = await cli.run(['run', '-f', 'multi-arch-unfixed.yaml', '.', '--registry', srv.host, '--id', 'ca9'], { cwd: ctx });
    assert.equal(r.code, 1);
    const last = r.stderr.trim().split('\n').pop()!;
    assert.match(last, new RegExp(`^manifold: step acb_step_2 failed: cannot push ${srv.host}/multi-arch-samples/myimage:ca9-arm64 \\(did you mean ${srv.host}/multi-arch-samples/myyimage:ca9-arm64\\?\\).*nothing was pushed$`));
    assert.match(r.stdout, /acb_step_2\s+failed/);
    assert.match(r.stdout, /acb_step_3\s+skipped/);
    // nothing of this run reached the registry: no ca9 tags at all
    const tags = (await (await req(srv.url, '/v2/multi-arch-samples/myimage/tags/list')).json()) as { tags: string[] };
    assert.deepEqual(tags.tags.filter((t) => t.startsWith('ca9')), []);
    assert.equal((await req(srv.url, '/v2/multi-arch-samples/myyimage/tags/list')).status, 404);
  });
});

describe('manifold run: steps, graph and errors', () => {
  let srv: TestServer;
  let cli: Cli;
  let dir: string;
  const write = async (name: string, text: string) => writeFile(join(dir, name), text);

  before(async () => {
    srv = await startTestServer();
    cli = await Cli.create();
    dir = await mkdtemp(join(tmpdir(), 'manifold-run-steps-'));
    await pushImage(srv.url, 'app', await makeImage({ os: 'linux', architecture: 'amd64' }), 'v1');
  });
  after(async () => {
    await srv.stop();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('a when graph of in-process manifold and docker manifest steps, with --set, retries and ignoreErrors', async () => {
    await write(
      'graph.yaml',
      [
        'version: v1.1.0',
        'steps:',
        '  - id: copy-a',
        '    cmd: manifold copy {{.Run.Registry}}/app:v1 {{.Run.Registry}}/app:{{.Values.tag}}-a',
        '    when: ["-"]',
        '  - id: copy-b',
        '    cmd: manifold copy $Registry/app:v1 $Registry/app:{{.Values.tag | upper | lower}}-b',
        '    when: ["-"]',
        '  - id: missing',
        '    cmd: manifold manifest inspect {{.Run.Registry}}/app:does-not-exist',
        '    when: ["-"]',
        '    retries: 1',
        '    retryDelay: 1',
        '    ignoreErrors: true',
        '  - id: list',
        '    cmd: docker manifest create --amend --insecure {{.Run.Registry}}/app:{{.Values.tag}} {{.Run.Registry}}/app:{{.Values.tag}}-a',
        '    when: [copy-a, copy-b, missing]',
        '  - cmd: docker manifest annotate {{.Run.Registry}}/app:{{.Values.tag}} {{.Run.Registry}}/app:{{.Values.tag}}-a --os linux --arch amd64 --variant v2',
        '  - cmd: docker manifest inspect {{.Run.Registry}}/app:{{.Values.tag}} {{.Run.Registry}}/app:{{.Values.tag}}-a',
        '  - cmd: docker manifest push -p --insecure {{.Run.Registry}}/app:{{.Values.tag}}',
        '',
      ].join('\n'),
    );
    const r = await cli.ok(['run', '-f', join(dir, 'graph.yaml'), dir, '--registry', srv.host, '--set', 'tag=rel'], { cwd: dir });
    assert.match(r.stdout, /copy-a\s+succeeded/);
    assert.match(r.stdout, /missing\s+failed \(ignored\) \(2 runs\)/);
    assert.match(r.stdout, /acb_step_6\s+succeeded\s+\S+\s+manifest .*\/app:rel@sha256:/);
    // docker's two-argument inspect shows the entry's own manifest
    assert.match(r.stderr, /\[acb_step_5\]\s+"config": \{/);
    assert.match(r.stderr, /\[missing\]\s+attempt 1 failed: .*retrying in 1s/);
    const tags = ((await (await req(srv.url, '/v2/app/tags/list')).json()) as { tags: string[] }).tags.sort();
    assert.deepEqual(tags, ['rel', 'rel-a', 'rel-b', 'v1']);
    const list = JSON.parse(await (await req(srv.url, '/v2/app/manifests/rel', { headers: { Accept: ALL_MANIFEST_TYPES } })).text()) as Index;
    assert.deepEqual(list.manifests.map((m) => m.platform), [{ architecture: 'amd64', os: 'linux', variant: 'v2' }]);
  });

  test('clear failures: docker build, a missing podman, a bad in-process command, a bad Dockerfile, schema errors', async () => {
    await write('docker.yaml', 'steps:\n- cmd: docker build -t x .\n');
    assert.match(await cli.fails(['run', '-f', join(dir, 'docker.yaml'), dir, '--registry', srv.host]), /^manifold: step acb_step_0 failed: "docker build" does not run here \(there is no Docker daemon\)/);

    await write('podman.yaml', 'steps:\n- cmd: alpine echo hi\n');
    const noPodman = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'run', '-f', join(dir, 'podman.yaml'), dir, '--registry', srv.host], { env: { ...cli.env, PATH: '/nonexistent' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(noPodman.code, 1);
    assert.match(noPodman.stderr, /manifold: step acb_step_0 failed: this step runs the image alpine, which needs podman, and podman is not installed/);

    await write('usage.yaml', 'steps:\n- cmd: manifold manifest create\n');
    assert.match(await cli.fails(['run', '-f', join(dir, 'usage.yaml'), dir, '--registry', srv.host]), /^manifold: step acb_step_0 failed: manifest create: missing required argument/);

    await mkdir(join(dir, 'runctx'), { recursive: true });
    await write('runctx/Dockerfile', 'FROM scratch\nHEALTHCHECK CMD true\n');
    await write('build.yaml', 'steps:\n- build: -t app:x --builder builtin runctx\n');
    assert.match(await cli.fails(['run', '-f', join(dir, 'build.yaml'), dir, '--registry', srv.host]), /failed: the builtin builder cannot build this: Dockerfile:2: HEALTHCHECK needs buildah/);

    await write('bad.yaml', 'version: v1.1.0\nsteps:\n- build: -t a .\n  push: [a]\n- cmd: manifold x\n  retries: -1\n  colour: red\n');
    const lint = await cli.run(['task', 'lint', join(dir, 'bad.yaml')]);
    assert.equal(lint.code, 1);
    const lines = lint.stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, -1).map((l) => l.replace(/^.*bad\.yaml:/, '')), [
      '3: error: step acb_step_0 has build and push: a step takes exactly one of build, push, cmd',
      '6: error: retries must be a whole number ≥ 0',
      `7: error: unknown property "colour" in step 2 (a step takes id, build, push, cmd, when, env, timeout, ignoreErrors, retries, retryDelay, repeat, startDelay, workingDirectory, entryPoint, detach, keep, user, privileged, ports, expose, pull, volumeMounts)`,
    ]);
    assert.match(lines[lines.length - 1]!, /^manifold: .*bad.yaml: 3 errors$/);
    assert.match(await cli.fails(['run', '-f', join(dir, 'bad.yaml'), '--registry', srv.host]), /^manifold: .*bad\.yaml:3: step acb_step_0 has build and push.*\(and 2 more: manifold task lint/);
  });

  test('Ctrl-C stops the running step, prints the summary and exits 130', async () => {
    await write('slow.yaml', 'steps:\n- id: slow\n  cmd: manifold manifest rm nothing.example/x:y\n  startDelay: 60\n- id: next\n  cmd: manifold manifest rm nothing.example/x:z\n');
    const child = spawn(process.execPath, [BIN, 'run', '-f', join(dir, 'slow.yaml'), dir, '--registry', srv.host], { env: cli.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('[slow] started')) resolve();
      }),
    );
    await started;
    const t = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    assert.ok(Date.now() - t < 5000);
    assert.match(stdout, /slow\s+cancelled/);
    assert.match(stdout, /next\s+skipped/);
    assert.match(stderr, /manifold: run interrupted/);
  });

  test('--help documents run and task lint', async () => {
    const run = (await cli.ok(['run', '--help'])).stdout;
    for (const flag of ['--file', '--registry', '--set', '--values', '--platform', '--builder', '--id', 'Example:']) assert.ok(run.includes(flag), flag);
    assert.match((await cli.ok(['task', 'lint', '--help'])).stdout, /--strict[\s\S]*Example:/);
  });
});
