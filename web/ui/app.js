// Manifold's web UI: plain JavaScript over the registry's own APIs (/acr/v1 for metadata,
// /v2 for manifest bytes and referrers). No framework and no build step.

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const INDEX_TYPES = new Set(MANIFEST_ACCEPT.split(', ').slice(0, 2));

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {}
/** The registry wants credentials (auth is on and this browser has none, or they were refused). */
class LoginRequired extends Error {}

// Credentials live in this tab only (sessionStorage) and go out as Basic auth, which the
// registry accepts on every API route; its answers to bad ones are 401s, never a browser prompt.
const AUTH_KEY = 'manifold-auth';
const authHeader = () => sessionStorage.getItem(AUTH_KEY);

/** One request; an error envelope becomes an ApiError with the registry's code and message. */
async function api(method, path, { body, accept = 'application/json' } = {}) {
  const init = { method, headers: { Accept: accept } };
  if (authHeader()) init.headers.Authorization = authHeader();
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  const text = await res.text();
  if (res.status === 401) throw new LoginRequired('sign in to see this registry');
  if (!res.ok) {
    let reason = `HTTP ${res.status}`;
    try {
      const e = JSON.parse(text).errors[0];
      reason = `${e.code}: ${e.message}`;
    } catch {
      // not an error envelope
    }
    throw new ApiError(reason);
  }
  return { text, json: text ? safeJson(text) : undefined, headers: res.headers };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Every page of a listing (follows Link: <…>; rel="next"). */
async function listAll(path, key) {
  const items = [];
  let next = path;
  while (next) {
    const res = await api('GET', next);
    items.push(...(res.json[key] ?? []));
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return items;
}

/** Runs `fn` over items with at most `limit` requests in flight. */
async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const enc = encodeURIComponent;
const repoPath = (name) => `/acr/v1/${name}`;
const tagPath = (name, tag) => `/acr/v1/${name}/_tags/${enc(tag)}`;
const manifestPath = (name, digest) => `/acr/v1/${name}/_manifests/${enc(digest)}`;

// ---- DOM helpers ----------------------------------------------------------------------------

/** h('a.link', {href}, 'text', child…): an element with classes, attributes and children. */
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function humanSize(bytes) {
  if (bytes === undefined || bytes === null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];
  let v = s;
  for (const [size, unit] of steps) {
    if (v < size) {
      const n = Math.floor(v);
      return n <= 1 && unit === 'second' ? 'just now' : `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
    v /= size;
  }
  return iso;
}

const time = (iso) => h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
const shortDigest = (d) => `${d.slice(0, 19)}…`;
const digestEl = (d) => h('code.digest', { title: d }, shortDigest(d));
const platformText = (p) => [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
const isAttestation = (p, annotations) =>
  annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (p?.os === 'unknown' && p?.architecture === 'unknown');

function archClass(arch) {
  if (arch === 'amd64' || arch === '386') return 'x86';
  if (arch === 'arm64') return 'arm64';
  if (arch === 'arm') return 'arm';
  return 'other';
}

const chip = (p) => h(`span.chip.${archClass(p.architecture)}`, { dataset: { platform: platformText(p) } }, platformText(p));

/** The chips of a manifest: one per platform; attestations gathered in one grey chip. */
function platformChips(m) {
  if (!m) return h('span.muted', {}, '–');
  if (m.references) {
    const platforms = m.references.filter((r) => !isAttestation(r));
    const attestations = m.references.length - platforms.length;
    return h('span.chips', {}, platforms.map(chip), attestations ? h('span.chip.attest', { title: 'attestation manifests (SBOM, provenance)' }, `+${attestations} attestation${attestations > 1 ? 's' : ''}`) : null);
  }
  if (m.os) return h('span.chips', {}, chip(m));
  return h('span.chip.attest', {}, m.artifactType ? 'artifact' : 'no platform');
}

function lockBadges(a) {
  return h(
    'span.badges',
    {},
    !a.writeEnabled && h('span.badge.locked', { title: 'writeEnabled: false — cannot be changed or deleted' }, 'locked'),
    a.writeEnabled && !a.deleteEnabled && h('span.badge.protect', { title: 'deleteEnabled: false' }, 'delete-protected'),
    !a.readEnabled && h('span.badge.warn', { title: 'readEnabled: false' }, 'pull disabled'),
    !a.listEnabled && h('span.badge.muted', { title: 'listEnabled: false' }, 'hidden'),
  );
}

// ---- notices and confirmation ---------------------------------------------------------------

function notify(message, kind = 'error') {
  const n = document.getElementById('notice');
  n.textContent = message;
  n.className = `notice ${kind}`;
  n.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (n.hidden = true), kind === 'error' ? 10000 : 4000);
}

/** A modal confirmation; resolves true when the user confirms. */
function confirmDialog(title, text, action = 'Delete') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** Runs an action from a button: disables it meanwhile, reports errors, re-renders on success. */
async function act(button, fn, done = 'Done') {
  button.disabled = true;
  try {
    await fn();
    notify(done, 'ok');
    await render();
  } catch (e) {
    notify(e.message);
    button.disabled = false;
  }
}

function lockButton(path, attributes, what) {
  const locked = !attributes.writeEnabled;
  const button = h('button.btn.small', { type: 'button', dataset: { action: locked ? 'unlock' : 'lock' }, title: locked ? `Allow changes to ${what}` : `Lock ${what}: no overwrite, no delete` }, locked ? 'Unlock' : 'Lock');
  button.addEventListener('click', () =>
    act(button, () => api('PATCH', path, { body: { writeEnabled: locked } }), `${what} ${locked ? 'unlocked' : 'locked'}`),
  );
  return button;
}

/** A delete button with a confirmation dialog; disabled (saying why) when `attributes` forbid deletion. */
function deleteButton(what, detail, run, attributes) {
  const locked = attributes && (!attributes.writeEnabled || !attributes.deleteEnabled);
  const button = h(
    'button.btn.small.danger',
    { type: 'button', dataset: { action: 'delete' }, disabled: locked, title: locked ? `${what} is locked against deletion; unlock it first` : undefined },
    'Delete',
  );
  button.addEventListener('click', async () => {
    if (await confirmDialog(`Delete ${what}?`, detail)) await act(button, run, `${what} deleted`);
  });
  return button;
}

// ---- views ----------------------------------------------------------------------------------

function setCrumbs(...parts) {
  const nav = document.getElementById('crumbs');
  nav.replaceChildren(...parts.flatMap((p, i) => [...(i ? [h('span.sep', {}, '/')] : []), p.href ? h('a', { href: p.href }, p.text) : h('span', {}, p.text)]));
}

async function repositoriesView() {
  setCrumbs({ text: 'Repositories' });
  const names = await listAll('/acr/v1/_catalog?n=1000', 'repositories');
  const repos = await mapLimit(names, 6, async (n) => (await api('GET', repoPath(n)).catch(() => undefined))?.json ?? { imageName: n });
  const search = h('input.search', { type: 'search', placeholder: 'Filter repositories…', 'aria-label': 'filter repositories', autofocus: true });
  const rows = repos.map((r) =>
    h(
      'tr',
      { dataset: { name: r.imageName } },
      h('td', {}, h('a.repo-link', { href: `#/repo/${r.imageName}` }, r.imageName)),
      h('td.num', {}, r.tagCount ?? '–'),
      h('td.num', {}, r.manifestCount ?? '–'),
      h('td', {}, r.lastUpdateTime ? time(r.lastUpdateTime) : '–'),
      h('td', {}, r.changeableAttributes ? lockBadges(r.changeableAttributes) : ''),
    ),
  );
  const empty = h('p.muted.empty', { hidden: true }, 'No repository matches.');
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const match = row.dataset.name.includes(q);
      row.hidden = !match;
      if (match) shown++;
    }
    empty.hidden = shown > 0;
  });
  return [
    h('div.page-head', {}, h('h1', {}, 'Repositories ', h('span.count', {}, `${names.length}`))),
    names.length === 0
      ? h('div.card.empty-state', {}, h('p', {}, 'No repositories yet.'), h('p.muted', {}, 'Push an image, e.g. ', h('code', {}, `docker push ${location.host}/app:1.0`)))
      : h(
          'div.card',
          {},
          h('div.card-tools', {}, search),
          h('table.grid', { dataset: { testid: 'repositories' } }, h('thead', {}, h('tr', {}, h('th', {}, 'Repository'), h('th.num', {}, 'Tags'), h('th.num', {}, 'Manifests'), h('th', {}, 'Updated'), h('th', {}, ''))), h('tbody', {}, rows)),
          empty,
        ),
  ];
}

async function repositoryView(name) {
  setCrumbs({ text: 'Repositories', href: '#/' }, { text: name });
  const [repo, tags, manifests] = await Promise.all([
    api('GET', repoPath(name)).then((r) => r.json),
    listAll(`/acr/v1/${name}/_tags?n=1000&orderby=timedesc`, 'tags'),
    listAll(`/acr/v1/${name}/_manifests?n=1000`, 'manifests'),
  ]);
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const children = new Set(manifests.flatMap((m) => (m.references ?? []).map((r) => r.digest)));
  const untagged = manifests.filter((m) => m.tags.length === 0 && !children.has(m.digest));

  const tagRows = tags.map((t) => {
    const m = byDigest.get(t.digest);
    return h(
      'tr',
      { dataset: { tag: t.name } },
      h('td', {}, h('a.tag', { href: `#/manifest/${name}@${t.digest}` }, t.name), t.signed ? h('span.badge.signed', { title: 'a signature refers to this manifest' }, '✓ signed') : null),
      h('td', {}, h('a', { href: `#/manifest/${name}@${t.digest}` }, digestEl(t.digest))),
      h('td', {}, platformChips(m)),
      h('td.num', {}, humanSize(m?.imageSize)),
      h('td', {}, time(t.lastUpdateTime)),
      h('td', {}, lockBadges(t.changeableAttributes)),
      h(
        'td.actions',
        {},
        lockButton(tagPath(name, t.name), t.changeableAttributes, `tag ${t.name}`),
        deleteButton(`tag ${t.name}`, `${name}:${t.name} will be removed; the manifest ${shortDigest(t.digest)} stays.`, () => api('DELETE', tagPath(name, t.name)), t.changeableAttributes),
      ),
    );
  });

  const head = h(
    'div.page-head',
    {},
    h('div', {}, h('h1', {}, name), h('p.sub', {}, `${repo.tagCount} tags · ${repo.manifestCount} manifests · updated `, time(repo.lastUpdateTime), ' · created ', time(repo.createdTime))),
    h(
      'div.head-actions',
      {},
      lockBadges(repo.changeableAttributes),
      lockButton(repoPath(name), repo.changeableAttributes, `repository ${name}`),
      deleteButton(`repository ${name}`, `All ${repo.manifestCount} manifests and ${repo.tagCount} tags of ${name} will be deleted.`, async () => {
        await api('DELETE', repoPath(name));
        location.hash = '#/';
      }, repo.changeableAttributes),
    ),
  );
  return [
    head,
    h(
      'section.card',
      {},
      h('h2', {}, 'Tags'),
      tags.length === 0
        ? h('p.muted', {}, 'No tags.')
        : h(
            'table.grid',
            { dataset: { testid: 'tags' } },
            h('thead', {}, h('tr', {}, ['Tag', 'Digest', 'Platforms', 'Size', 'Updated', '', ''].map((c, i) => h(i === 3 ? 'th.num' : 'th', {}, c)))),
            h('tbody', {}, tagRows),
          ),
    ),
    untagged.length
      ? h(
          'section.card',
          {},
          h('h2', {}, 'Untagged manifests'),
          h(
            'table.grid',
            {},
            h('thead', {}, h('tr', {}, h('th', {}, 'Digest'), h('th', {}, 'Kind'), h('th.num', {}, 'Size'), h('th', {}, 'Updated'))),
            h(
              'tbody',
              {},
              untagged.map((m) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#/manifest/${name}@${m.digest}` }, digestEl(m.digest))),
                  h('td', {}, platformChips(m)),
                  h('td.num', {}, humanSize(m.imageSize)),
                  h('td', {}, time(m.lastUpdateTime)),
                ),
              ),
            ),
          ),
        )
      : null,
  ];
}

/** A manifest's bytes via /v2, as stored; undefined when it cannot be read (e.g. readEnabled: false). */
async function rawManifest(name, digest) {
  try {
    const res = await api('GET', `/v2/${name}/manifests/${digest}`, { accept: MANIFEST_ACCEPT });
    return { text: res.text, json: res.json };
  } catch (e) {
    return { error: e.message };
  }
}

function attributeToggles(path, attributes) {
  const keys = [
    ['writeEnabled', 'Write', 'overwrite and delete'],
    ['deleteEnabled', 'Delete', 'delete'],
    ['readEnabled', 'Read', 'pull'],
    ['listEnabled', 'List', 'appear in listings'],
  ];
  return h(
    'div.toggles',
    {},
    keys.map(([key, label, help]) => {
      const input = h('input', { type: 'checkbox', role: 'switch', checked: attributes[key], dataset: { attribute: key } });
      input.addEventListener('change', () =>
        act(
          input,
          () =>
            api('PATCH', path, { body: { [key]: input.checked } }).catch((e) => {
              input.checked = !input.checked;
              throw e;
            }),
          `${key} set to ${input.checked}`,
        ),
      );
      return h('label.toggle', { title: `${key}: may ${help}` }, input, h('span', {}, label));
    }),
  );
}

function descriptorTable(rows, testid) {
  return h(
    'table.grid',
    { dataset: { testid } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Media type'), h('th', {}, 'Digest'), h('th.num', {}, 'Size'))),
    h('tbody', {}, rows.map((d) => h('tr', {}, h('td', {}, h('code', {}, d.mediaType)), h('td', {}, digestEl(d.digest)), h('td.num', {}, humanSize(d.size))))),
  );
}

async function manifestView(name, digest) {
  setCrumbs({ text: 'Repositories', href: '#/' }, { text: name, href: `#/repo/${name}` }, { text: shortDigest(digest) });
  const [meta, raw, referrers] = await Promise.all([
    api('GET', manifestPath(name, digest)).then((r) => r.json.manifest),
    rawManifest(name, digest),
    api('GET', `/v2/${name}/referrers/${digest}`).then((r) => r.json.manifests ?? [], () => []),
  ]);
  const doc = raw.json;
  const isIndex = INDEX_TYPES.has(meta.mediaType);
  const sections = [];

  if (isIndex) {
    const entries = doc?.manifests ?? (meta.references ?? []).map((r) => ({ digest: r.digest, platform: r }));
    const details = await mapLimit(entries, 6, async (d) => {
      const [m, body] = await Promise.all([api('GET', manifestPath(name, d.digest)).then((r) => r.json.manifest, () => undefined), rawManifest(name, d.digest)]);
      return { d, m, layers: body.json?.layers?.length };
    });
    const row = ({ d, m, layers }) =>
      h(
        'tr',
        { dataset: { platform: platformText(d.platform ?? {}) } },
        h('td', {}, d.platform?.os ?? '?'),
        h('td', {}, d.platform?.architecture ?? '?'),
        h('td', {}, d.platform?.variant ?? ''),
        h('td', {}, h('a', { href: `#/manifest/${name}@${d.digest}` }, digestEl(d.digest))),
        h('td.num', {}, humanSize(m?.imageSize)),
        h('td.num', {}, layers ?? '–'),
      );
    const platforms = details.filter(({ d }) => !isAttestation(d.platform, d.annotations));
    const attestations = details.filter(({ d }) => isAttestation(d.platform, d.annotations));
    const head = h('thead', {}, h('tr', {}, ['OS', 'Architecture', 'Variant', 'Digest', 'Size', 'Layers'].map((c, i) => h(i >= 4 ? 'th.num' : 'th', {}, c))));
    sections.push(
      h('section.card', {}, h('h2', {}, 'Platforms ', h('span.count', {}, platforms.length)), h('table.grid', { dataset: { testid: 'platforms' } }, head, h('tbody', {}, platforms.map(row)))),
    );
    if (attestations.length) {
      sections.push(
        h(
          'section.card',
          {},
          h('h2', {}, 'Attestations ', h('span.count', {}, attestations.length)),
          h('p.muted', {}, 'Build attestations (SBOM, provenance) stored beside the images; not platforms to run.'),
          h(
            'table.grid',
            { dataset: { testid: 'attestations' } },
            h('thead', {}, h('tr', {}, h('th', {}, 'Digest'), h('th', {}, 'Describes'), h('th.num', {}, 'Size'))),
            h(
              'tbody',
              {},
              attestations.map(({ d, m }) => {
                const target = d.annotations?.['vnd.docker.reference.digest'];
                const described = target && platforms.find((p) => p.d.digest === target);
                return h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#/manifest/${name}@${d.digest}` }, digestEl(d.digest))),
                  h('td', {}, described ? chip(described.d.platform) : target ? digestEl(target) : '–'),
                  h('td.num', {}, humanSize(m?.imageSize)),
                );
              }),
            ),
          ),
        ),
      );
    }
  } else if (doc) {
    if (doc.config) sections.push(h('section.card', {}, h('h2', {}, 'Config'), descriptorTable([doc.config], 'config')));
    sections.push(h('section.card', {}, h('h2', {}, 'Layers ', h('span.count', {}, (doc.layers ?? []).length)), descriptorTable(doc.layers ?? [], 'layers')));
  }

  sections.push(
    h(
      'section.card',
      {},
      h('h2', {}, 'Referrers ', h('span.count', {}, referrers.length)),
      referrers.length === 0
        ? h('p.muted', {}, 'Nothing refers to this manifest (no signatures, SBOMs or other artifacts).')
        : h(
            'table.grid',
            { dataset: { testid: 'referrers' } },
            h('thead', {}, h('tr', {}, h('th', {}, 'Artifact type'), h('th', {}, 'Digest'), h('th.num', {}, 'Size'))),
            h('tbody', {}, referrers.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.artifactType ?? r.mediaType)), h('td', {}, h('a', { href: `#/manifest/${name}@${r.digest}` }, digestEl(r.digest))), h('td.num', {}, humanSize(r.size))))),
          ),
    ),
    h(
      'section.card',
      {},
      h('details', { dataset: { testid: 'raw' } }, h('summary', {}, h('h2.inline', {}, 'Raw manifest')), raw.error ? h('p.muted', {}, `Cannot be read: ${raw.error}`) : h('pre.raw', {}, doc ? JSON.stringify(doc, null, 2) : raw.text)),
    ),
  );

  const facts = [
    ['Digest', h('code.full', {}, meta.digest)],
    ['Media type', h('code', {}, meta.mediaType)],
    meta.configMediaType && ['Config type', h('code', {}, meta.configMediaType)],
    meta.artifactType && ['Artifact type', h('code', {}, meta.artifactType)],
    !isIndex && meta.os && ['Platform', chip(meta)],
    ['Size', `${humanSize(meta.imageSize)}${isIndex ? ' (all platforms)' : ''}`],
    ['Tags', meta.tags.length ? h('span.chips', {}, meta.tags.map((t) => h('span.chip.tagchip', {}, t))) : h('span.muted', {}, 'untagged')],
    ['Created', time(meta.createdTime)],
    ['Updated', time(meta.lastUpdateTime)],
    ['Attributes', attributeToggles(manifestPath(name, digest), meta.changeableAttributes)],
  ].filter(Boolean);

  return [
    h(
      'div.page-head',
      {},
      h('div', {}, h('h1', {}, isIndex ? 'Image index' : meta.os ? 'Image' : 'Artifact', ' ', h('span.h1-sub', {}, `${name}@${shortDigest(digest)}`))),
      h(
        'div.head-actions',
        {},
        lockBadges(meta.changeableAttributes),
        lockButton(manifestPath(name, digest), meta.changeableAttributes, 'manifest'),
        deleteButton('manifest', `${name}@${shortDigest(digest)}${meta.tags.length ? ` and its tags ${meta.tags.join(', ')}` : ''} will be deleted.`, async () => {
          await api('DELETE', `/v2/${name}/manifests/${digest}`);
          location.hash = `#/repo/${name}`;
        }, meta.changeableAttributes),
      ),
    ),
    h('section.card', {}, h('dl.facts', {}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
    sections,
  ];
}

// ---- routing --------------------------------------------------------------------------------

/** `#/`, `#/repo/<name>`, `#/manifest/<name>@<digest>` (names may contain `/`). */
function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  if (hash.startsWith('repo/')) return () => repositoryView(hash.slice(5));
  if (hash.startsWith('manifest/')) {
    const rest = hash.slice(9);
    const at = rest.lastIndexOf('@');
    return () => manifestView(rest.slice(0, at), rest.slice(at + 1));
  }
  return repositoriesView;
}

let rendering = 0;
async function render() {
  const ticket = ++rendering;
  const view = document.getElementById('view');
  view.setAttribute('aria-busy', 'true');
  try {
    const content = await route()();
    if (ticket !== rendering) return;
    view.replaceChildren(...[content].flat(Infinity).filter(Boolean));
  } catch (e) {
    if (ticket !== rendering) return;
    if (e instanceof LoginRequired) {
      view.replaceChildren(loginView());
      return;
    }
    view.replaceChildren(h('div.card.error-state', {}, h('h2', {}, 'Cannot show this page'), h('p', {}, e.message), h('a', { href: '#/' }, '← all repositories')));
  } finally {
    if (ticket === rendering) view.removeAttribute('aria-busy');
  }
}

/** Sign-in form: checks the credentials against /v2/ before keeping them. */
function loginView() {
  const error = h('p.login-error', { role: 'alert', hidden: true });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, 'aria-label': 'User or token name' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-label': 'Password' });
  const submit = async (event) => {
    event.preventDefault();
    const candidate = `Basic ${btoa(`${user.value}:${password.value}`)}`;
    const res = await fetch('/v2/', { headers: { Authorization: candidate } });
    if (res.status !== 200) {
      error.textContent = res.status === 429 ? 'Too many failed attempts; wait a minute.' : 'Invalid user name or password.';
      error.hidden = false;
      return;
    }
    sessionStorage.setItem(AUTH_KEY, candidate);
    showSession();
    render();
  };
  return h(
    'form.card.login',
    { onsubmit: submit },
    h('h2', {}, 'Sign in'),
    h('p.muted', {}, 'This registry needs credentials: a user, or a token and its password.'),
    h('label', {}, 'User or token', user),
    h('label', {}, 'Password', password),
    error,
    h('button.btn.primary', { type: 'submit' }, 'Sign in'),
  );
}

/** Shows who is signed in, with a way out. */
function showSession() {
  const host = document.getElementById('host');
  const auth = authHeader();
  if (!auth) {
    host.replaceChildren(location.host);
    return;
  }
  const name = atob(auth.slice(6)).split(':')[0];
  const signOut = h('button.btn.small', {
    onclick: () => {
      sessionStorage.removeItem(AUTH_KEY);
      showSession();
      render();
    },
  }, 'Sign out');
  host.replaceChildren(`${name} @ ${location.host} `, signOut);
}

showSession();
window.addEventListener('hashchange', () => {
  // A message about the page being left would be read as about the next one.
  document.getElementById('notice').hidden = true;
  render();
});
render();
