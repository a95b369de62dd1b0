// Roles and forged writes: a viewer sees no write control and a write forged from a viewer's
// session (with a valid CSRF token) is 403; a write without or with a wrong CSRF token is 403.
import { test, expect, Page } from '@playwright/test';
import { ADMIN, VIEWER } from './state';
import { Api, seedOnce, csrfToken, signIn } from './helpers';

const TYPE = 122;
let recordPath = '';

test.beforeAll(async () => {
  recordPath = await seedOnce('roles', async () => {
  const api = await Api.connect('acme');
  await api.createType(TYPE, 'roles-fw');
  const record = await api.publish(TYPE, 'roles-app', '2.0.0', ['branch:main']);
  await api.dispose();
  return `/ui/pool/${TYPE}/${record.versionNumber}`;
  });
});

/** A POST from the page's own session (its cookies), redirects not followed. */
async function post(page: Page, path: string, form: Record<string, string>) {
  return page.request.post(path, { form, maxRedirects: 0 });
}

async function typeExists(type: number): Promise<boolean> {
  const api = await Api.connect('acme');
  const status = await api.status(`/types/${type}`);
  await api.dispose();
  expect([200, 404]).toContain(status);
  return status === 200;
}

test('a viewer sees no write controls', async ({ page }) => {
  await signIn(page, VIEWER);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Pool' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Upload' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Access' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Audit log' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Retention' })).toHaveCount(0);

  await page.goto('/ui/types');
  await expect(page.getByRole('row').filter({ hasText: 'roles-fw' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create type' })).toHaveCount(0);
  await expect(page.getByLabel('Type number')).toHaveCount(0);

  await page.goto(recordPath);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('roles-app');
  await expect(page.getByText('branch:main', { exact: true })).toBeVisible();
  for (const control of ['Promote to released', 'Add tag', 'Associate device type', 'Remove tag branch:main']) {
    await expect(page.getByRole('button', { name: control }), control).toHaveCount(0);
  }
  // Reading is still possible.
  await expect(page.getByRole('link', { name: 'Download binary' })).toBeVisible();

  await page.goto('/ui/collections');
  await expect(page.getByRole('button', { name: 'Create collection' })).toHaveCount(0);

  // The upload page and the admin page are refused outright.
  expect((await page.goto('/ui/upload'))!.status()).toBe(403);
  expect((await page.goto('/ui/access'))!.status()).toBe(403);
});

test("a write forged from a viewer's session with a valid CSRF token is 403", async ({ page }) => {
  await signIn(page, VIEWER);
  await page.goto(recordPath);
  const token = await csrfToken(page);
  expect(token.length).toBeGreaterThan(16);

  const addTag = await post(page, `${recordPath}/tags`, { _csrf: token, tag: 'forged' });
  expect(addTag.status()).toBe(403);
  const createType = await post(page, '/ui/types', { _csrf: token, number: '181', name: 'forged' });
  expect(createType.status()).toBe(403);

  await page.goto(recordPath);
  await expect(page.getByText('forged', { exact: true })).toHaveCount(0);
  expect(await typeExists(181)).toBe(false);
});

test('a write without a CSRF token, or with a wrong one, is 403 even for an admin', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto(recordPath);
  const token = await csrfToken(page);

  const missing = await post(page, `${recordPath}/tags`, { tag: 'no-csrf' });
  expect(missing.status()).toBe(403);
  const wrong = await post(page, `${recordPath}/tags`, { _csrf: token.slice(0, -4) + 'beef', tag: 'wrong-csrf' });
  expect(wrong.status()).toBe(403);
  const noTypeCsrf = await post(page, '/ui/types', { number: '182', name: 'no-csrf' });
  expect(noTypeCsrf.status()).toBe(403);

  await page.goto(recordPath);
  await expect(page.getByText('no-csrf', { exact: true })).toHaveCount(0);
  await expect(page.getByText('wrong-csrf', { exact: true })).toHaveCount(0);
  expect(await typeExists(182)).toBe(false);

  // The same request with the page's token is accepted: the refusals were the token's doing.
  const accepted = await post(page, `${recordPath}/tags`, { _csrf: token, tag: 'with-csrf' });
  expect(accepted.status()).toBeLessThan(400);
  await page.goto(recordPath);
  await expect(page.getByText('with-csrf', { exact: true })).toBeVisible();
});

test('the 403 page for a missing token is a readable page, not JSON', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto(recordPath);
  const r = await post(page, `${recordPath}/tags`, { tag: 'x' });
  expect(r.status()).toBe(403);
  expect(r.headers()['content-type']).toContain('text/html');
  expect(await r.text()).toContain('Not allowed');
});
