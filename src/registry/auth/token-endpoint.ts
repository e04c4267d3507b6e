/**
 * `/oauth2/token`: the Docker token flow. GET with Basic credentials (or none, for anonymous pull)
 * and `scope=repository:NAME:pull,push`; POST with `grant_type=password` or `refresh_token`. The
 * token grants the subset of the asked scopes that the principal really has.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../../oci/errors.js';
import { isValidRepositoryName } from '../../oci/names.js';
import type { RegistryServices } from '../context.js';
import { readBody, sendJson } from '../http.js';
import { describe, subjectOf, type Principal } from './access.js';
import { actionsFromDocker, parseRequestedScopes } from './scopes.js';
import type { AccessClaim } from './signing.js';

const REFRESH_TTL_SECONDS = 30 * 24 * 3600;
const DOCKER_ACTIONS = ['pull', 'push', 'delete', 'metadata_read', 'metadata_write'];

/** The asked-for access this principal actually has. */
function grant(s: RegistryServices, principal: Principal, scopes: string[]): AccessClaim[] {
  const granted: AccessClaim[] = [];
  for (const scope of parseRequestedScopes(scopes)) {
    if (scope.type === 'repository' && isValidRepositoryName(scope.name)) {
      const asked = scope.actions.includes('*') ? ['pull', 'push', 'delete'] : scope.actions.filter((a) => DOCKER_ACTIONS.includes(a));
      const actions = asked.filter((a) => actionsFromDocker([a]).every((action) => s.access.permits(principal, scope.name, action)));
      if (actions.length) granted.push({ type: 'repository', name: scope.name, actions });
    } else if (scope.type === 'registry' && scope.name === 'catalog' && principal.kind === 'user') {
      granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
    }
  }
  return granted;
}

async function issue(s: RegistryServices, principal: Principal, scopes: string[], offline: boolean) {
  const ttl = s.access.settings.tokenTtlSeconds;
  const access = grant(s, principal, scopes);
  const token = await s.access.signer.issue({ sub: subjectOf(principal), access }, s.access.settings.service, ttl);
  const body: Record<string, unknown> = { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
  if (scopes.length) body.scope = scopes.join(' ');
  if (offline && principal.kind !== 'anonymous') {
    body.refresh_token = await s.access.signer.issue({ sub: subjectOf(principal), access: [], kind: 'refresh' }, s.access.settings.service, REFRESH_TTL_SECONDS);
  }
  return body;
}

function checkService(s: RegistryServices, service: string | null): void {
  if (service && service !== s.access.settings.service) {
    throw new RegistryError('UNSUPPORTED', `unknown service ${JSON.stringify(service)}; this registry is ${JSON.stringify(s.access.settings.service)}`, { status: 400 });
  }
}

function refused(message: string): RegistryError {
  // Basic here (not Bearer): this endpoint takes credentials, it does not hand out challenges for itself.
  return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': 'Basic realm="manifold"' } });
}

export async function handleToken(req: IncomingMessage, res: ServerResponse, url: URL, s: RegistryServices): Promise<void> {
  const ip = req.socket.remoteAddress ?? 'unknown';
  res.setHeader('Cache-Control', 'no-store');
  if (req.method === 'GET') {
    checkService(s, url.searchParams.get('service'));
    let principal: Principal = { kind: 'anonymous' };
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const found = colon > 0 ? await s.access.login(decoded.slice(0, colon), decoded.slice(colon + 1), ip) : undefined;
      if (!found) throw refused('invalid username or password');
      principal = found;
      s.access.audit.record({ event: 'login', who: describe(principal), ip });
    }
    sendJson(res, 200, await issue(s, principal, url.searchParams.getAll('scope'), url.searchParams.get('offline_token') === 'true'));
    return;
  }
  if (req.method === 'POST') {
    const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
    checkService(s, form.get('service'));
    const scopes = form.getAll('scope');
    const grantType = form.get('grant_type');
    let principal: Principal | undefined;
    if (grantType === 'password') {
      principal = await s.access.login(form.get('username') ?? '', form.get('password') ?? '', ip);
      if (!principal) throw refused('invalid username or password');
      s.access.audit.record({ event: 'login', who: describe(principal), ip });
    } else if (grantType === 'refresh_token') {
      try {
        const claims = await s.access.signer.verify(form.get('refresh_token') ?? '', s.access.settings.service);
        principal = claims.kind === 'refresh' ? s.access.principalFor(claims.sub) : undefined;
      } catch {
        principal = undefined;
      }
      if (!principal || principal.kind === 'anonymous') throw refused('invalid or expired refresh token');
    } else {
      throw new RegistryError('UNSUPPORTED', 'grant_type must be password or refresh_token', { status: 400 });
    }
    const body = await issue(s, principal, scopes, grantType === 'password' && form.get('access_type') === 'offline');
    if (grantType === 'refresh_token') body.refresh_token = form.get('refresh_token');
    sendJson(res, 200, body);
    return;
  }
  throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on /oauth2/token`, { headers: { Allow: 'GET, POST' } });
}
