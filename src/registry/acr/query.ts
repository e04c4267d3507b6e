import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../../oci/errors.js';
import type { ChangeableAttributes, ListOrder } from '../../store/meta/types.js';
import type { RequestContext } from '../context.js';
import { pageOf, readJsonObject } from '../http.js';

/** Reading what a metadata API request asks for: the list order, and a PATCH of attributes. */

const ORDERS: Record<string, ListOrder> = {
  timedesc: 'timedesc',
  time_desc: 'timedesc',
  timeasc: 'timeasc',
  time_asc: 'timeasc',
};

function badRequest(message: string, detail?: unknown): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400, detail });
}

/** `orderby=timedesc|timeasc` (ACR's CLI spelling `time_desc|time_asc` too); none: by name or digest. */
export function parseOrder(url: URL): ListOrder {
  const raw = url.searchParams.get('orderby');
  if (raw === null || raw === '') return 'name';
  const order = ORDERS[raw.toLowerCase()];
  if (!order) throw badRequest(`orderby must be timedesc or timeasc, got ${JSON.stringify(raw.slice(0, 100))}`, { orderby: raw.slice(0, 100) });
  return order;
}

/** A time-ordered page continues after the item `last` names; it has to exist for its time to be known. */
function unknownCursor(last: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `last=${JSON.stringify(last.slice(0, 200))} names nothing in this repository; time-ordered pages continue after an existing item`, {
    detail: { last: last.slice(0, 200) },
  });
}

/**
 * One page of a metadata listing in `order`: `fetch` is the store's query, which answers undefined
 * when a time-ordered `last` names nothing; the Link carries `orderby` and `carried` over.
 */
export function listPage<T>(
  ctx: RequestContext,
  path: string,
  fetch: (query: { order: ListOrder; after: string; limit: number }) => T[] | undefined,
  keyOf: (item: T) => string,
  carried: Record<string, string> = {},
): { items: T[]; headers: Record<string, string> } {
  const order = parseOrder(ctx.url);
  const orderby = ctx.url.searchParams.get('orderby');
  const { items, link } = pageOf(
    ctx.url,
    path,
    ctx.services.config.catalogPageSize,
    (after, limit) => {
      const rows = fetch({ order, after, limit });
      if (!rows) throw unknownCursor(after);
      return rows;
    },
    keyOf,
    { ...(orderby ? { orderby } : {}), ...carried },
  );
  return { items, headers: link ? { Link: link } : {} };
}

const KEYS: readonly (keyof ChangeableAttributes)[] = ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'];
const MAX_PATCH_BYTES = 16 * 1024;

/** A PATCH body: a partial `changeableAttributes` object of booleans; anything else is refused before any change. */
export async function readAttributesPatch(req: IncomingMessage): Promise<Partial<ChangeableAttributes>> {
  const doc = await readJsonObject(req, MAX_PATCH_BYTES, 'a JSON object of changeable attributes');
  const patch: Partial<ChangeableAttributes> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw badRequest(`unknown attribute ${JSON.stringify(key.slice(0, 100))} (known: ${KEYS.join(', ')})`, { attribute: key.slice(0, 100) });
    }
    if (typeof value !== 'boolean') throw badRequest(`${key} must be true or false`, { attribute: key });
    patch[key as keyof ChangeableAttributes] = value;
  }
  return patch;
}
