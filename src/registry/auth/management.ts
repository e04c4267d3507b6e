/**
 * Creating and removing users and tokens: one set of rules for the offline CLI (straight into the
 * data directory) and the online admin API. Secrets are returned once, at creation, never again.
 */
import type { AuthStore, ScopeMap, TokenRecord, UserRecord } from '../../store/auth/types.js';
import { hashPassword, hashSecret, newTokenSecret } from './secrets.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface UserView {
  name: string;
  admin: boolean;
  createdTime: string;
}

export interface TokenView {
  name: string;
  scopes: ScopeMap;
  createdTime: string;
  expiryTime: string | null;
  disabled: boolean;
  expired: boolean;
}

export const userView = (u: UserRecord): UserView => ({ name: u.name, admin: u.admin, createdTime: new Date(u.createdAt).toISOString() });

export const tokenView = (t: TokenRecord, now = Date.now()): TokenView => ({
  name: t.name,
  scopes: t.scopes,
  createdTime: new Date(t.createdAt).toISOString(),
  expiryTime: t.expiresAt === undefined ? null : new Date(t.expiresAt).toISOString(),
  disabled: t.disabled,
  expired: t.expiresAt !== undefined && t.expiresAt <= now,
});

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`invalid name ${JSON.stringify(name)}: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}

export async function createUser(store: AuthStore, input: { name: unknown; password: unknown; admin?: unknown }): Promise<UserView> {
  const name = checkName(input.name);
  if (typeof input.password !== 'string' || input.password.length < 8) throw new Error('a password needs at least 8 characters');
  const user: UserRecord = { name, passwordHash: await hashPassword(input.password), admin: input.admin === true, createdAt: Date.now() };
  store.createUser(user);
  return userView(user);
}

/** Parses `30d`, `12h`, `45m` or plain seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)}: use e.g. 3600, 45m, 12h, 30d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

export function createToken(store: AuthStore, input: { name: unknown; scopes: ScopeMap; expiresInMs?: number }): TokenView & { password: string } {
  const name = checkName(input.name);
  const secret = newTokenSecret();
  const now = Date.now();
  const token: TokenRecord = {
    name,
    secretHash: hashSecret(secret),
    scopes: input.scopes,
    createdAt: now,
    ...(input.expiresInMs !== undefined ? { expiresAt: now + input.expiresInMs } : {}),
    disabled: false,
  };
  store.createToken(token);
  return { ...tokenView(token, now), password: secret };
}
