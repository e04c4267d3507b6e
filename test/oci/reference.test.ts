import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, formatReference, manifestReference } from '../../src/oci/reference.js';

test('references: registry detection, defaults, tag and digest', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  const cases: Array<[string, object, string]> = [
    ['alpine', {}, 'docker.io/library/alpine:latest'],
    ['alpine:3.20', {}, 'docker.io/library/alpine:3.20'],
    ['team/app', {}, 'docker.io/team/app:latest'],
    ['127.0.0.1:5000/multi-arch-samples/myimage:multi', {}, '127.0.0.1:5000/multi-arch-samples/myimage:multi'],
    ['localhost/app', {}, 'localhost/app:latest'],
    ['registry.example/a/b/c@' + d, {}, 'registry.example/a/b/c@' + d],
    ['host:5000/app:v1@' + d, {}, 'host:5000/app:v1@' + d],
    ['app:v1', { defaultRegistry: '127.0.0.1:5000' }, '127.0.0.1:5000/app:v1'],
    ['app', { defaultRegistry: '127.0.0.1:5000', defaultTag: null }, '127.0.0.1:5000/app'],
  ];
  for (const [input, opts, want] of cases) assert.equal(formatReference(parseReference(input, opts)), want, input);
});

test('references: bad input is one clear error', () => {
  for (const bad of ['', 'Upper/Case', 'app:bad tag', 'app@sha256:xyz', 'host:5000/', 'a//b']) {
    assert.throws(() => parseReference(bad), /reference|invalid/, bad);
  }
  assert.equal(manifestReference(parseReference('h.io/a:t')), 't');
  assert.throws(() => manifestReference(parseReference('h.io/a', { defaultTag: null })), /neither/);
});
