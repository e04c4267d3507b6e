import Database from 'better-sqlite3';
import type { AuthStore, ScopeMap, TokenRecord, UserRecord } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  admin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  disabled INTEGER NOT NULL DEFAULT 0
);
`;

interface TokenRow {
  name: string;
  secret_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  disabled: number;
}

interface UserRow {
  name: string;
  password_hash: string;
  admin: number;
  created_at: number;
}

const toUser = (r: UserRow): UserRecord => ({ name: r.name, passwordHash: r.password_hash, admin: r.admin === 1, createdAt: r.created_at });
const toToken = (r: TokenRow): TokenRecord => ({
  name: r.name,
  secretHash: r.secret_hash,
  scopes: JSON.parse(r.scopes) as ScopeMap,
  createdAt: r.created_at,
  ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
  disabled: r.disabled === 1,
});

/**
 * Users and tokens in their own SQLite file (`auth.db`), so credentials can be backed up, moved or
 * locked down apart from image metadata. The CLI may change it while a server runs (WAL mode).
 */
export class SqliteAuthStore implements AuthStore {
  private readonly db: Database.Database;
  private readonly anyPrincipal: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Asked on every request (is auth on?): prepared once.
    this.anyPrincipal = this.db.prepare('SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM tokens)').pluck();
  }

  getUser(name: string): UserRecord | undefined {
    const r = this.prepared('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return r && toUser(r);
  }

  listUsers(): UserRecord[] {
    return (this.prepared('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }

  createUser(u: UserRecord): void {
    this.principalsCheckedAt = 0;
    this.assertFree(u.name);
    this.prepared('INSERT INTO users (name, password_hash, admin, created_at) VALUES (?, ?, ?, ?)').run(u.name, u.passwordHash, u.admin ? 1 : 0, u.createdAt);
  }

  setUserPassword(name: string, passwordHash: string): boolean {
    return this.prepared('UPDATE users SET password_hash = ? WHERE name = ?').run(passwordHash, name).changes > 0;
  }

  deleteUser(name: string): boolean {
    this.principalsCheckedAt = 0;
    return this.prepared('DELETE FROM users WHERE name = ?').run(name).changes > 0;
  }

  getToken(name: string): TokenRecord | undefined {
    const r = this.prepared('SELECT * FROM tokens WHERE name = ?').get(name) as TokenRow | undefined;
    return r && toToken(r);
  }

  listTokens(): TokenRecord[] {
    return (this.prepared('SELECT * FROM tokens ORDER BY name').all() as TokenRow[]).map(toToken);
  }

  createToken(t: TokenRecord): void {
    this.principalsCheckedAt = 0;
    this.assertFree(t.name);
    this.db
      .prepare('INSERT INTO tokens (name, secret_hash, scopes, created_at, expires_at, disabled) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.name, t.secretHash, JSON.stringify(t.scopes), t.createdAt, t.expiresAt ?? null, t.disabled ? 1 : 0);
  }

  setTokenDisabled(name: string, disabled: boolean): boolean {
    return this.prepared('UPDATE tokens SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name).changes > 0;
  }

  deleteToken(name: string): boolean {
    this.principalsCheckedAt = 0;
    return this.prepared('DELETE FROM tokens WHERE name = ?').run(name).changes > 0;
  }

  /**
   * Asked on every request, so the answer is kept for a second: a user or token created by
   * another process (the offline CLI) turns auth on within a second; this process's own changes
   * count at once.
   */
  hasPrincipals(): boolean {
    const now = Date.now();
    if (this.principalsCheckedAt + 1000 <= now) {
      this.principalsKnown = this.anyPrincipal.get() === 1;
      this.principalsCheckedAt = now;
    }
    return this.principalsKnown;
  }

  private principalsKnown = false;
  private principalsCheckedAt = 0;

  /** A login name means one thing: users and tokens share the namespace. */
  private assertFree(name: string): void {
    if (this.getUser(name) || this.getToken(name)) throw new Error(`the name ${JSON.stringify(name)} is already taken by a user or token`);
  }

  /** Statements are compiled once: several run on every authenticated request. */
  private readonly statements = new Map<string, Database.Statement>();
  private prepared(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  close(): void {
    this.db.close();
  }
}
