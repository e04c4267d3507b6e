/**
 * Who is calling and what they may do. Credentials arrive as Basic (user or token name + secret)
 * or as a Bearer JWT from /oauth2/token; either way the principal is looked up again on every
 * request, so a deleted user or a disabled token stops working at once. A registry with no users
 * and no tokens is open (the laptop default).
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { RegistryError } from '../../oci/errors.js';
import type { Action, AuthStore, ScopeMap } from '../../store/auth/types.js';
import type { AuditLog } from './audit.js';
import { dockerAction, patternMatches, scopeAllows } from './scopes.js';
import { secretMatches, verifyPassword } from './secrets.js';
import type { AccessClaim, TokenSigner } from './signing.js';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; name: string; admin: boolean }
  | { kind: 'token'; name: string; scopes: ScopeMap };

export interface Caller {
  principal: Principal;
  /** How the caller came in; `open` when the registry has no principals at all. */
  via: 'open' | 'none' | 'basic' | 'bearer';
  /** What a bearer token grants (Docker access claims); requests need both this and the principal's rights. */
  grants?: AccessClaim[];
  /** Client address, for rate limiting and the audit log. */
  ip: string;
}

export interface AccessSettings {
  /** Repository patterns anyone may pull (`*` for all). */
  anonymousPull: string[];
  /** The `service` of challenges and the audience of tokens. */
  service: string;
  /** Fixed token realm URL; by default built from the request's Host. */
  realm?: string;
  tokenTtlSeconds: number;
  /** Failed logins from one address within a minute before it is locked out for a minute. */
  loginFailureLimit: number;
}

/** How a principal is named in tokens and the audit log. */
export function subjectOf(p: Principal): string {
  return p.kind === 'anonymous' ? '' : `${p.kind}:${p.name}`;
}

export function describe(p: Principal): string {
  return p.kind === 'anonymous' ? 'anonymous' : `${p.kind} ${p.name}`;
}

const VERIFIED_TTL_MS = 5 * 60 * 1000;
const WINDOW_MS = 60 * 1000;

export class AccessControl {
  /** Successful password checks, keyed by a hash of name+password and the stored hash they matched. */
  private readonly verified = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; since: number; lockedUntil: number }>();

  constructor(
    readonly store: AuthStore,
    readonly signer: TokenSigner,
    readonly settings: AccessSettings,
    readonly audit: AuditLog,
  ) {}

  /** Credentials are required once any user or token exists. */
  get enabled(): boolean {
    return this.store.hasPrincipals();
  }

  /** What a principal may do by its own rights, whatever a token grants. */
  permits(p: Principal, repository: string, action: Action): boolean {
    switch (p.kind) {
      case 'user':
        return true;
      case 'token':
        return scopeAllows(p.scopes, repository, action);
      case 'anonymous':
        return action === 'content/read' && this.settings.anonymousPull.some((pattern) => patternMatches(pattern, repository));
    }
  }

  /** True when the caller may do `action` to `repository` (used to filter listings and mounts). */
  can(caller: Caller, repository: string, action: Action): boolean {
    if (caller.via === 'open') return true;
    if (!this.permits(caller.principal, repository, action)) return false;
    if (caller.via !== 'bearer') return true;
    return grantsInclude(caller.grants ?? [], repository, action);
  }

  /** Throws the right error when the caller may not: 401 (so the client fetches credentials or a token) or 403. */
  authorize(req: IncomingMessage, caller: Caller, repository: string, action: Action): void {
    if (this.can(caller, repository, action)) return;
    const scope = `repository:${repository}:${dockerAction(action)}`;
    if (caller.principal.kind === 'anonymous') {
      throw this.unauthorized(req, `authentication required to ${dockerAction(action)} ${repository}`, scope);
    }
    if (caller.via === 'bearer' && this.permits(caller.principal, repository, action)) {
      // The principal may, the token does not say so: let the client ask for a wider token.
      throw this.unauthorized(req, `token does not grant ${dockerAction(action)} on ${repository}`, scope, 'insufficient_scope');
    }
    throw new RegistryError('DENIED', `${describe(caller.principal)} may not ${dockerAction(action)} ${repository}`, { detail: { repository, action } });
  }

  /** Registry-wide listing (`_catalog`) is for users; a repository-scoped token does not get it. */
  authorizeCatalog(req: IncomingMessage, caller: Caller): void {
    if (caller.via === 'open' || caller.principal.kind === 'user') {
      if (caller.via !== 'bearer' || caller.grants?.some((g) => g.type === 'registry' && g.name === 'catalog')) return;
      throw this.unauthorized(req, 'token does not grant the catalog', 'registry:catalog:*', 'insufficient_scope');
    }
    if (caller.principal.kind === 'anonymous') throw this.unauthorized(req, 'authentication required to list repositories', 'registry:catalog:*');
    throw new RegistryError('DENIED', `${describe(caller.principal)} is scoped to repositories and may not list the catalog`);
  }

  requireAdmin(req: IncomingMessage, caller: Caller): void {
    if (caller.via === 'open' || (caller.principal.kind === 'user' && caller.principal.admin)) return;
    if (caller.principal.kind === 'anonymous') throw this.unauthorized(req, 'authentication required', undefined);
    throw new RegistryError('DENIED', `${describe(caller.principal)} is not an administrator`);
  }

  /** `/v2/` answers 200 only to callers with valid credentials when auth is on (docker login relies on it). */
  requireAuthenticated(req: IncomingMessage, caller: Caller): void {
    if (caller.via === 'open' || caller.principal.kind !== 'anonymous') return;
    throw this.unauthorized(req, 'authentication required', undefined);
  }

  unauthorized(req: IncomingMessage, message: string, scope: string | undefined, error?: string): RegistryError {
    const params = [`realm="${this.realm(req)}"`, `service="${this.settings.service}"`];
    if (scope) params.push(`scope="${scope}"`);
    if (error) params.push(`error="${error}"`);
    return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': `Bearer ${params.join(',')}` } });
  }

  realm(req: IncomingMessage): string {
    if (this.settings.realm) return this.settings.realm;
    const proto = (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || 'http';
    return `${proto}://${req.headers.host ?? 'localhost'}/oauth2/token`;
  }

  /** Reads the request's credentials. Bad credentials are a 401, never a silent downgrade to anonymous. */
  async authenticate(req: IncomingMessage): Promise<Caller> {
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (!this.enabled) return { principal: { kind: 'anonymous' }, via: 'open', ip };
    const header = req.headers.authorization ?? '';
    const basic = /^Basic\s+(\S+)$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const principal = colon > 0 ? await this.login(decoded.slice(0, colon), decoded.slice(colon + 1), ip) : undefined;
      if (!principal) throw this.unauthorized(req, 'invalid username or password', undefined);
      return { principal, via: 'basic', ip };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    if (bearer) {
      let claims;
      try {
        claims = await this.signer.verify(bearer[1]!, this.settings.service);
      } catch (e) {
        throw this.unauthorized(req, `invalid token: ${(e as Error).message}`, undefined, 'invalid_token');
      }
      if (claims.kind === 'refresh') throw this.unauthorized(req, 'a refresh token is not an access token', undefined, 'invalid_token');
      const principal = this.principalFor(claims.sub);
      if (!principal) throw this.unauthorized(req, 'the token\'s user or token no longer exists, is disabled or expired', undefined, 'invalid_token');
      return { principal, via: 'bearer', grants: claims.access, ip };
    }
    return { principal: { kind: 'anonymous' }, via: 'none', ip };
  }

  /** The principal a token subject names, if it is still valid. */
  principalFor(subject: string): Principal | undefined {
    if (subject === '') return { kind: 'anonymous' };
    const [kind, ...rest] = subject.split(':');
    const name = rest.join(':');
    if (kind === 'user') {
      const u = this.store.getUser(name);
      return u && { kind: 'user', name: u.name, admin: u.admin };
    }
    if (kind === 'token') {
      const t = this.store.getToken(name);
      if (!t || t.disabled || (t.expiresAt !== undefined && t.expiresAt <= Date.now())) return undefined;
      return { kind: 'token', name: t.name, scopes: t.scopes };
    }
    return undefined;
  }

  /**
   * Checks a name and password (a user's password or a token's secret). Failures count towards
   * the address's lockout; a locked-out address gets 429 whatever it sends.
   */
  async login(name: string, password: string, ip: string): Promise<Principal | undefined> {
    const now = Date.now();
    const f = this.failures.get(ip);
    if (f && f.lockedUntil > now) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try again later', {
        headers: { 'Retry-After': String(Math.ceil((f.lockedUntil - now) / 1000)) },
      });
    }
    const principal = await this.check(name, password);
    if (principal) {
      this.failures.delete(ip);
      return principal;
    }
    const entry = f && now - f.since < WINDOW_MS ? f : { count: 0, since: now, lockedUntil: 0 };
    entry.count++;
    if (entry.count >= this.settings.loginFailureLimit) entry.lockedUntil = now + WINDOW_MS;
    this.failures.set(ip, entry);
    this.audit.record({ event: 'login-failed', who: name, ip });
    return undefined;
  }

  private async check(name: string, password: string): Promise<Principal | undefined> {
    const user = this.store.getUser(name);
    if (user) {
      const key = createHash('sha256').update(`${name}\0${password}\0${user.passwordHash}`).digest('hex');
      const until = this.verified.get(key);
      if (until !== undefined && until > Date.now()) return { kind: 'user', name, admin: user.admin };
      if (!(await verifyPassword(password, user.passwordHash))) return undefined;
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(key, Date.now() + VERIFIED_TTL_MS);
      return { kind: 'user', name, admin: user.admin };
    }
    const token = this.store.getToken(name);
    if (!token || !secretMatches(password, token.secretHash)) return undefined;
    if (token.disabled || (token.expiresAt !== undefined && token.expiresAt <= Date.now())) return undefined;
    return { kind: 'token', name, scopes: token.scopes };
  }
}

function grantsInclude(grants: AccessClaim[], repository: string, action: Action): boolean {
  const wanted = dockerAction(action);
  return grants.some((g) => g.type === 'repository' && g.name === repository && (g.actions.includes(wanted) || (g.actions.includes('*') && action.startsWith('content/'))));
}
