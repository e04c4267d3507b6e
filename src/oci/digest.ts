import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** Digest algorithms this registry can verify, with the length of their hex encoding. */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

// The grammar of the OCI image spec: algorithm ":" encoded.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  digest: string;
}

/** Parses and validates a digest string; throws DIGEST_INVALID for anything we cannot verify. */
export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== 'string' || !DIGEST_GRAMMAR.test(value)) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest format: ${JSON.stringify(String(value).slice(0, 200))}`);
  }
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!(algorithm in ALGORITHMS)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm: ${algorithm}`);
  }
  const alg = algorithm as DigestAlgorithm;
  if (hex.length !== ALGORITHMS[alg] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${alg} digest: ${value.slice(0, 200)}`);
  }
  return { algorithm: alg, hex, digest: value };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function newHasher(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** Digest of a byte string, in `algorithm:hex` form. */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
