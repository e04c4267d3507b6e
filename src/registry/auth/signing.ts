/**
 * Signs and verifies the registry's bearer tokens (JWT, ES256). The key is made on first start and
 * kept in the data directory (owner-only), so tokens survive restarts and only this registry's
 * signatures verify. Verification pins the algorithm: `alg: none` and other keys are refused.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, jwtVerify, SignJWT, type JWTPayload } from 'jose';

export interface AccessClaim {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims extends JWTPayload {
  sub: string;
  access: AccessClaim[];
  /** 'refresh' tokens only buy access tokens at /oauth2/token. */
  kind?: 'refresh';
}

export const ISSUER = 'manifold';
export const ALGORITHM = 'ES256';

export class TokenSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    readonly keyId: string,
  ) {}

  static async open(dataDir: string): Promise<TokenSigner> {
    const dir = join(dataDir, 'auth');
    const path = join(dir, 'signing-key.pem');
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, pem, { mode: 0o600 });
      await rename(tmp, path);
    }
    const privateKey = createPrivateKey(pem);
    const publicKey = createPublicKey(privateKey);
    const keyId = await calculateJwkThumbprint(await exportJWK(publicKey));
    return new TokenSigner(privateKey, publicKey, keyId);
  }

  async issue(claims: { sub: string; access: AccessClaim[]; kind?: 'refresh' }, audience: string, ttlSeconds: number): Promise<string> {
    return new SignJWT({ access: claims.access, ...(claims.kind ? { kind: claims.kind } : {}) })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: this.keyId })
      .setIssuer(ISSUER)
      .setSubject(claims.sub)
      .setAudience(audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(this.privateKey);
  }

  /** The claims of a token this registry signed for `audience`; throws for anything else. */
  async verify(token: string, audience: string): Promise<TokenClaims> {
    const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience, algorithms: [ALGORITHM], clockTolerance: 5 });
    if (typeof payload.sub !== 'string' || !Array.isArray(payload.access)) throw new Error('token lacks sub or access');
    return payload as TokenClaims;
  }
}
