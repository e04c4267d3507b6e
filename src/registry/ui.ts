import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryError } from '../oci/errors.js';

/**
 * The web UI: static files from `web/` at the repository root (plain HTML, CSS and JS, no build).
 * Only files listed when the module loads are served, looked up by exact name, so no request
 * path can reach outside `web/`.
 */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function listAssets(): Map<string, string> {
  const files = new Map<string, string>([['/', join(WEB_DIR, 'index.html')]]);
  let names: string[] = [];
  try {
    names = readdirSync(join(WEB_DIR, 'ui'));
  } catch {
    // No UI installed: only the API is served.
  }
  for (const name of names) if (TYPES[extname(name)]) files.set(`/ui/${name}`, join(WEB_DIR, 'ui', name));
  return files;
}

const ASSETS = listAssets();

export function isUiPath(path: string): boolean {
  return ASSETS.has(path);
}

export async function serveUi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on ${path}`, { headers: { Allow: 'GET, HEAD' } });
  }
  const file = ASSETS.get(path)!;
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    throw new RegistryError('UNSUPPORTED', `the web UI is not installed (${path})`, { status: 404 });
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)]!,
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    // The UI's own files and its API calls only; no inline script.
    'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
