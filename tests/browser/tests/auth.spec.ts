// Signing in and out: the login form, a wrong password, pages behind the session.
import { test, expect } from '@playwright/test';
import { ADMIN, PASSWORD, VIEWER } from './state';
import { shootAndCheck, signIn, signOut } from './helpers';

test('a browser asking for / is sent to the UI, and unsigned to the login form', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/ui\/login/);
  await expect(page.getByLabel('Username')).toBeVisible();
  await expect(page.getByLabel('Password')).toBeVisible();
  await shootAndCheck(page, 'login');
});

test('sign in shows the overview; sign out ends the session', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/ui\/?$/);
  await expect(page.getByText(ADMIN.username)).toBeVisible();
  await signOut(page);
  // The old cookie no longer opens a page.
  await page.goto('/ui/');
  await expect(page).toHaveURL(/\/ui\/login/);
});

test('a wrong password is refused with a message and no session', async ({ page }) => {
  await page.goto('/ui/login');
  await page.getByLabel('Username').fill(VIEWER.username);
  await page.getByLabel('Password').fill(PASSWORD + 'x');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/ui\/login/);
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  const cookies = await page.context().cookies();
  expect(cookies.filter((c) => c.name === 'fwrepo_session')).toEqual([]);
  await shootAndCheck(page, 'login-error');
});

test('the session cookie is HttpOnly and SameSite', async ({ page }) => {
  await signIn(page, VIEWER);
  const cookie = (await page.context().cookies()).find((c) => c.name === 'fwrepo_session');
  expect(cookie, 'a session cookie').toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  expect(['Strict', 'Lax']).toContain(cookie!.sameSite);
});

test('a keyboard alone signs in: Tab to the fields, Enter submits', async ({ page }) => {
  await page.goto('/ui/login');
  // From the top of the page, Tab until the username field has the focus.
  await page.locator('body').focus();
  const username = page.getByLabel('Username');
  for (let i = 0; i < 15 && !(await username.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(username).toBeFocused();
  await page.keyboard.type(VIEWER.username);
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
});

test('an unknown page under /ui/ is a real 404 page', async ({ page }) => {
  await signIn(page, VIEWER);
  const r = await page.goto('/ui/no-such-page');
  expect(r!.status()).toBe(404);
  await expect(page.locator('body')).not.toContainText('problem+json');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await shootAndCheck(page, 'not-found');
});
