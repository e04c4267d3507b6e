/** Users and repository-scoped tokens: who may use the registry, kept apart from image metadata. */

/** What a principal may do to a repository. */
export const ACTIONS = ['content/read', 'content/write', 'content/delete', 'metadata/read', 'metadata/write'] as const;
export type Action = (typeof ACTIONS)[number];

/** Repository pattern (`team/*` or an exact name) → allowed actions. */
export type ScopeMap = Record<string, Action[]>;

export interface UserRecord {
  name: string;
  /** scrypt hash in `scrypt$N$r$p$salt$hash` form; never the password. */
  passwordHash: string;
  admin: boolean;
  createdAt: number;
}

export interface TokenRecord {
  name: string;
  /** sha256 of the generated secret (high-entropy, so a fast hash is enough). */
  secretHash: string;
  scopes: ScopeMap;
  createdAt: number;
  /** ms since the epoch; undefined = never. */
  expiresAt?: number;
  disabled: boolean;
}

export interface AuthStore {
  getUser(name: string): UserRecord | undefined;
  listUsers(): UserRecord[];
  createUser(user: UserRecord): void;
  setUserPassword(name: string, passwordHash: string): boolean;
  deleteUser(name: string): boolean;
  getToken(name: string): TokenRecord | undefined;
  listTokens(): TokenRecord[];
  createToken(token: TokenRecord): void;
  setTokenDisabled(name: string, disabled: boolean): boolean;
  deleteToken(name: string): boolean;
  /** True when any user or token exists: then the registry requires credentials. */
  hasPrincipals(): boolean;
  close(): void;
}
