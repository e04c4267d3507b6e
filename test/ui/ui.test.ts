import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { getJson, pushMultiArchRepo, setAttributes } from '../helpers/acr.js';
import { pushImage, pushManifest, rawRequest, req } from '../helpers/http.js';
import { makeImage } from '../helpers/images.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The web UI in real headless Chromium against a real server. Screenshots go to test/artifacts/. */

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

let srv: TestServer;
let browser: Browser;
let page: Page;
let fx: Awaited<ReturnType<typeof pushMultiArchRepo>>;
const pageErrors: string[] = [];

before(async () => {
  srv = await startTestServer();
  fx = await pushMultiArchRepo(srv.url, 'ui/app');
  await pushImage(srv.url, 'ui/tools', await makeImage({ os: 'linux', architecture: 'amd64' }), 'v1');
  await pushImage(srv.url, 'ui/tools', await makeImage({ os: 'windows', architecture: 'amd64' }), 'win');
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});
after(async () => {
  await browser?.close();
  await srv.stop();
});

const tagRow = (tag: string) => page.locator(`[data-testid="tags"] tr[data-tag="${tag}"]`);

describe('web UI', () => {
  test('the repository list shows counts and filters by search', async () => {
    await page.goto(`${srv.url}/`);
    const rows = page.locator('[data-testid="repositories"] tbody tr');
    await rows.first().waitFor();
    assert.deepEqual(await rows.locator('a.repo-link').allTextContents(), ['ui/app', 'ui/tools']);
    assert.deepEqual(await rows.first().locator('td.num').allTextContents(), ['4', '6']);
    await page.fill('input.search', 'tool');
    assert.equal(await page.locator('[data-testid="repositories"] tbody tr:visible').count(), 1);
    assert.equal(await page.locator('[data-testid="repositories"] tbody tr:visible a').textContent(), 'ui/tools');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-repositories.png') });
  });

  test('a multi-arch tag shows its platforms as chips, attestations apart', async () => {
    await page.goto(`${srv.url}/#/repo/ui/app`);
    await tagRow('1.0').waitFor();
    assert.deepEqual(await page.locator('[data-testid="tags"] tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.tag)), ['latest', '1.0', 'arm64', 'amd64']);
    const chips = tagRow('1.0').locator('.chip[data-platform]');
    assert.deepEqual(await chips.allTextContents(), ['linux/amd64', 'linux/arm64/v8']);
    assert.equal(await tagRow('1.0').locator('.chip.attest').textContent(), '+2 attestations');
    assert.match((await tagRow('1.0').textContent())!, /signed/);
    assert.deepEqual(await tagRow('arm64').locator('.chip').allTextContents(), ['linux/arm64/v8']);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-repository.png'), fullPage: true });
  });

  test('locking a tag from the UI locks it for /v2 too, and unlocking undoes it', async () => {
    await page.goto(`${srv.url}/#/repo/ui/app`);
    await tagRow('1.0').locator('button[data-action="lock"]').click();
    await tagRow('1.0').locator('.badge.locked').waitFor();
    const tag = await getJson<{ tag: { changeableAttributes: { writeEnabled: boolean } } }>(srv.url, '/acr/v1/ui/app/_tags/1.0');
    assert.equal(tag.body.tag.changeableAttributes.writeEnabled, false);
    assert.equal((await pushManifest(srv.url, 'ui/app', '1.0', fx.amd.manifest)).status, 403);
    // A locked tag offers no delete, and says why.
    const del = tagRow('1.0').locator('button[data-action="delete"]');
    assert.equal(await del.isDisabled(), true);
    assert.match((await del.getAttribute('title'))!, /locked/);
    // A tag on the same manifest that is not locked can still be deleted… but a refusal from the
    // registry (here: the repository got locked meanwhile) is shown as its error message.
    await setAttributes(srv.url, '/acr/v1/ui/app', { deleteEnabled: false });
    await tagRow('latest').locator('button[data-action="delete"]').click();
    await page.locator('#confirm-ok').click();
    await page.locator('#notice.error').waitFor();
    assert.match((await page.locator('#notice').textContent())!, /DENIED: repository ui\/app is locked \(deleteEnabled: false\): nothing in it can be deleted/);
    await setAttributes(srv.url, '/acr/v1/ui/app', { deleteEnabled: true });
    await page.screenshot({ path: join(ARTIFACTS, 'ui-locked.png'), fullPage: true });
    await tagRow('1.0').locator('button[data-action="unlock"]').click();
    await tagRow('1.0').locator('button[data-action="lock"]').waitFor();
    assert.equal((await getJson<{ tag: { changeableAttributes: { writeEnabled: boolean } } }>(srv.url, '/acr/v1/ui/app/_tags/1.0')).body.tag.changeableAttributes.writeEnabled, true);
  });

  test('the manifest page: platform matrix, attestations apart, referrers, raw JSON, attribute switches', async () => {
    await page.goto(`${srv.url}/#/manifest/ui/app@${fx.index.digest}`);
    const platforms = page.locator('[data-testid="platforms"] tbody tr');
    await platforms.first().waitFor();
    assert.deepEqual(await platforms.evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.platform)), ['linux/amd64', 'linux/arm64/v8']);
    const cells = await platforms.nth(1).locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 3), ['linux', 'arm64', 'v8']);
    assert.equal(cells[5], '1', 'layer count');
    assert.equal(await page.locator('[data-testid="attestations"] tbody tr').count(), 2);
    assert.equal(await page.locator('[data-testid="referrers"] tbody tr').count(), 1);
    assert.match((await page.locator('[data-testid="referrers"]').textContent())!, /notary/);
    await page.locator('[data-testid="raw"] summary').click();
    const raw = JSON.parse((await page.locator('pre.raw').textContent())!);
    assert.equal(raw.manifests.length, 4);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-manifest.png'), fullPage: true });

    await page.locator('input[data-attribute="deleteEnabled"]').uncheck();
    await page.locator('.head-actions .badge.protect').waitFor();
    const m = await getJson<{ manifest: { changeableAttributes: { deleteEnabled: boolean } } }>(srv.url, `/acr/v1/ui/app/_manifests/${fx.index.digest}`);
    assert.equal(m.body.manifest.changeableAttributes.deleteEnabled, false);
    await page.locator('input[data-attribute="deleteEnabled"]').check();
    await page.locator('.head-actions .badge.protect').waitFor({ state: 'detached' });
  });

  test('an image page lists its config and layers', async () => {
    await page.goto(`${srv.url}/#/manifest/ui/app@${fx.arm.manifest.digest}`);
    await page.locator('[data-testid="layers"] tbody tr').first().waitFor();
    assert.equal(await page.locator('[data-testid="layers"] tbody tr').count(), 1);
    assert.match((await page.locator('[data-testid="config"]').textContent())!, /application\/vnd\.oci\.image\.config\.v1\+json/);
  });

  test('delete asks first: cancel keeps the tag, confirm removes it', async () => {
    await page.goto(`${srv.url}/#/repo/ui/app`);
    await tagRow('amd64').locator('button[data-action="delete"]').click();
    assert.equal(await page.locator('dialog#confirm').isVisible(), true);
    await page.locator('dialog#confirm button[value="cancel"]').click();
    assert.equal((await req(srv.url, '/acr/v1/ui/app/_tags/amd64')).status, 200);
    await tagRow('amd64').locator('button[data-action="delete"]').click();
    await page.locator('#confirm-ok').click();
    await tagRow('amd64').waitFor({ state: 'detached' });
    assert.equal((await req(srv.url, '/acr/v1/ui/app/_tags/amd64')).status, 404);
  });

  test('no script errors on any page', () => {
    assert.deepEqual(pageErrors.filter((e) => !/403|Forbidden/.test(e)), []);
  });
});

describe('UI assets', () => {
  test('/ and /ui/ files are served with their types; nothing outside web/ is', async () => {
    const index = await req(srv.url, '/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /^text\/html/);
    assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
    assert.match((await req(srv.url, '/ui/app.js')).headers.get('content-type')!, /^text\/javascript/);
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2Fpackage.json', '/web/index.html', '/ui/', '/ui/nope.js', '/../package.json']) {
      const res = await rawRequest(srv.url, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.equal(JSON.parse(res.body).errors[0].code, 'UNSUPPORTED');
    }
    assert.equal((await req(srv.url, '/', { method: 'POST' })).status, 405);
    assert.equal((await req(srv.url, '/v2/')).status, 200);
  });
});
