import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { addUser } from '../helpers/auth.js';
import { pushMultiArchRepo } from '../helpers/acr.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

/** With auth on, the UI asks for credentials, keeps them for the tab, and signs out. */
describe('web UI sign-in', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    srv = await startTestServer({ loginFailureLimit: 100 });
    await pushMultiArchRepo(srv.url, 'team/app');
    await addUser(srv, 'alice', 'alice-password');
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  });
  after(async () => {
    await browser?.close();
    await srv.stop();
  });

  test('sign in (wrong, then right), see the repositories, sign out', async () => {
    await page.goto(`${srv.url}/`);
    const form = page.locator('form.login');
    await form.waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'ui-login.png') });
    await form.locator('input[name="username"]').fill('alice');
    await form.locator('input[name="password"]').fill('wrong-password');
    await form.locator('button[type="submit"]').click();
    await form.locator('.login-error').waitFor();
    assert.match(await form.locator('.login-error').textContent() ?? '', /Invalid user name or password/);

    await form.locator('input[name="password"]').fill('alice-password');
    await form.locator('button[type="submit"]').click();
    const rows = page.locator('[data-testid="repositories"] tbody tr');
    await rows.first().waitFor();
    assert.deepEqual(await rows.locator('a.repo-link').allTextContents(), ['team/app']);
    assert.match(await page.locator('#host').textContent() ?? '', /^alice @ 127\.0\.0\.1:\d+/);

    await page.reload();
    await rows.first().waitFor(); // kept for the tab
    await page.locator('#host button').click();
    await form.waitFor();
  });
});
