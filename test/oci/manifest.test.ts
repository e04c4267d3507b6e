import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { isValidRepositoryName, isValidTag } from '../../src/oci/names.js';

const D = digestOf('x');
const desc = (mediaType: string) => ({ mediaType, digest: D, size: 1 });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function invalid(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_INVALID' && pattern.test(e.message));
}

describe('parseDigest', () => {
  test('accepts sha256 and sha512', () => {
    assert.equal(parseDigest(D).algorithm, 'sha256');
    assert.equal(parseDigest(digestOf('x', 'sha512')).algorithm, 'sha512');
  });
  for (const bad of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'md5:' + 'a'.repeat(32), 'sha256', '../../etc/passwd', 'sha256:' + 'a'.repeat(63) + '/']) {
    test(`rejects ${bad.slice(0, 30)}`, () => assert.throws(() => parseDigest(bad), (e: unknown) => (e as RegistryError).code === 'DIGEST_INVALID'));
  }
});

describe('names and tags', () => {
  for (const ok of ['a', 'library/ubuntu', 'multi-arch-samples/myimage', 'a.b_c__d---e/f', 'x/y/z']) {
    test(`name ${ok} is valid`, () => assert.ok(isValidRepositoryName(ok)));
  }
  for (const bad of ['', 'A', '../x', 'a/../b', 'a//b', '/a', 'a/', 'a..b', '-a', 'a_', 'a'.repeat(256)]) {
    test(`name ${JSON.stringify(bad.slice(0, 20))} is invalid`, () => assert.ok(!isValidRepositoryName(bad)));
  }
  test('tags', () => {
    assert.ok(isValidTag('v1.0.0-rc_1'));
    assert.ok(isValidTag('_x'));
    assert.ok(!isValidTag('.x'));
    assert.ok(!isValidTag('-x'));
    assert.ok(!isValidTag('a'.repeat(129)));
    assert.ok(!isValidTag('a/b'));
  });
});

describe('parseManifest', () => {
  test('docker schema2 image', () => {
    const m = parseManifest(
      json({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc(MediaType.DockerConfig), layers: [desc(MediaType.DockerLayer)] }),
      MediaType.DockerManifest,
    );
    assert.equal(m.kind, 'image');
    assert.equal(m.layers.length, 1);
  });
  test('OCI manifest without mediaType takes the Content-Type', () => {
    const m = parseManifest(json({ schemaVersion: 2, config: desc(MediaType.OciConfig), layers: [] }), MediaType.OciManifest);
    assert.equal(m.mediaType, MediaType.OciManifest);
  });
  test('index with platforms, artifactType and subject', () => {
    const m = parseManifest(
      json({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        artifactType: 'application/x-test',
        subject: desc(MediaType.OciManifest),
        manifests: [{ ...desc(MediaType.OciManifest), platform: { os: 'linux', architecture: 'arm', variant: 'v7', 'os.version': '1' } }],
      }),
      '',
    );
    assert.equal(m.kind, 'index');
    assert.deepEqual(m.manifests[0]!.platform, { os: 'linux', architecture: 'arm', variant: 'v7', osVersion: '1' });
    assert.equal(m.subject?.digest, D);
  });
  test('a Docker list may name OCI children and vice versa', () => {
    parseManifest(json({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [desc(MediaType.OciManifest)] }), '');
    parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [desc(MediaType.DockerManifest)] }), '');
  });
  test('rejects', () => {
    invalid(() => parseManifest(Buffer.from('{nope'), ''), /not valid JSON/);
    invalid(() => parseManifest(json([1]), ''), /JSON object/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc(MediaType.OciConfig), layers: [] }), MediaType.DockerManifest), /does not match/);
    invalid(() => parseManifest(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), ''), /schema 1/);
    invalid(() => parseManifest(json({ schemaVersion: 3, mediaType: MediaType.OciManifest, config: desc(MediaType.OciConfig), layers: [] }), ''), /schemaVersion/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciManifest, layers: [] }), ''), /config must be an object/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...desc(MediaType.OciConfig), size: -1 }, layers: [] }), ''), /size/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...desc(MediaType.OciConfig), digest: 'sha256:zz' }, layers: [] }), ''), /digest/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: 'x' }), ''), /must be an array/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], layers: [] }), ''), /must not have/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: 'application/json', config: desc(MediaType.OciConfig) }), ''), /unsupported manifest media type/);
    invalid(() => parseManifest(json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc(MediaType.OciEmpty), layers: [] }), ''), /artifactType is required/);
    invalid(() => parseManifest(json({ schemaVersion: 2 }), ''), /cannot tell/);
  });
});
