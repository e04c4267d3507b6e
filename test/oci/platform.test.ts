import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bestPlatformMatch, formatPlatform, normalizePlatform, parsePlatform, platformMatches, platformVector } from '../../src/oci/platform.js';

describe('normalizePlatform', () => {
  const cases: [string, string][] = [
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86-64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64/8', 'linux/arm64'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['Linux/AMD64', 'linux/amd64'],
    ['macos/arm64', 'darwin/arm64'],
    ['arm64', 'linux/arm64'],
  ];
  for (const [input, want] of cases) {
    test(`${input} → ${want}`, () => assert.equal(formatPlatform(parsePlatform(input)), want));
  }
  test('rejects malformed specs', () => {
    assert.throws(() => parsePlatform('linux//amd64'), /invalid platform/);
    assert.throws(() => parsePlatform('a/b/c/d'), /invalid platform/);
  });
});

describe('platformVector (containerd compatibility order)', () => {
  const cases: [string, string[]][] = [
    ['linux/amd64', ['linux/amd64', 'linux/386']],
    ['linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']],
    ['linux/arm64', ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v7', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v5', ['linux/arm/v5']],
    ['linux/s390x', ['linux/s390x']],
  ];
  for (const [input, want] of cases) {
    test(input, () => assert.deepEqual(platformVector(parsePlatform(input)).map(formatPlatform), want));
  }
});

describe('matching and ranking', () => {
  const entries = ['linux/arm/v6', 'linux/arm/v7', 'linux/amd64', 'linux/386', 'windows/amd64'].map(parsePlatform);
  const table: [string, string | undefined][] = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/arm64', 'linux/arm/v7'],
    ['linux/arm/v8', 'linux/arm/v7'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/arm/v5', undefined],
    ['linux/ppc64le', undefined],
    ['windows/amd64', 'windows/amd64'],
  ];
  for (const [want, got] of table) {
    test(`${want} picks ${got ?? 'nothing'}`, () => {
      const i = bestPlatformMatch(parsePlatform(want), entries);
      assert.equal(i >= 0 ? formatPlatform(entries[i]!) : undefined, got);
    });
  }
  test('amd64 falls back to 386 only when there is no amd64', () => {
    const only386 = [parsePlatform('linux/386')];
    assert.equal(bestPlatformMatch(parsePlatform('linux/amd64'), only386), 0);
    assert.equal(platformMatches(parsePlatform('linux/386'), parsePlatform('linux/amd64')), false);
  });
  test('windows: same build required, exact revision preferred', () => {
    const want = { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1879' };
    const candidates = [
      { os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.1' },
      { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1000' },
      { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1879' },
    ];
    assert.equal(bestPlatformMatch(want, candidates), 2);
    assert.equal(bestPlatformMatch(want, candidates.slice(0, 2)), 1);
    assert.equal(bestPlatformMatch(want, candidates.slice(0, 1)), -1);
  });
  test('entries without a platform never match', () => {
    assert.equal(bestPlatformMatch(parsePlatform('linux/amd64'), [undefined]), -1);
  });
  test('normalisation keeps os.version and features', () => {
    assert.deepEqual(normalizePlatform({ os: 'windows', architecture: 'x86_64', osVersion: '10.0.1', osFeatures: ['win32k'] }), {
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.1',
      osFeatures: ['win32k'],
    });
  });
});
