// Pool search: the query lives in the URL, so Back restores the previous search; columns sort;
// pages page; a keyboard alone searches.
import { test, expect } from '@playwright/test';
import { VIEWER } from './state';
import { Api, seedOnce, signIn } from './helpers';

const TYPE = 120;

test.beforeAll(async () => {
  await seedOnce('search', async () => {
  const api = await Api.connect('acme');
  await api.createType(TYPE, 'search-fw');
  for (let i = 0; i < 3; i++) await api.publish(TYPE, 'search-alpha', `1.0.${i}`, ['channel:alpha', 'search-spec']);
  for (let i = 0; i < 2; i++) await api.publish(TYPE, 'search-beta', `2.${i}.0`, ['channel:beta', 'search-spec']);
  await api.dispose();
  return true;
  });
});

const results = (page: import('@playwright/test').Page) => page.locator('#results');

test('Back after a second search restores the first query and its results', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.goto('/ui/pool');
  const tags = page.getByLabel('Tags (all of, comma-separated)');
  await tags.fill('channel:alpha');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/tags=channel%3Aalpha/);
  await expect(results(page)).toContainText('3 records');

  await tags.fill('channel:beta');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/tags=channel%3Abeta/);
  await expect(results(page)).toContainText('2 records');
  await expect(results(page).getByRole('link', { name: 'search-alpha' })).toHaveCount(0);

  await page.goBack();
  await expect(page).toHaveURL(/tags=channel%3Aalpha/);
  await expect(results(page)).toContainText('3 records');
  await expect(results(page).getByRole('link', { name: 'search-alpha' })).toHaveCount(3);
  await expect(page.getByLabel('Tags (all of, comma-separated)')).toHaveValue('channel:alpha');

  await page.goForward();
  await expect(page).toHaveURL(/tags=channel%3Abeta/);
  await expect(results(page)).toContainText('2 records');
});

test('a shared search link opens the same results; version range and type filter', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.goto(`/ui/pool?type=${TYPE}&tags=search-spec&versionReq=${encodeURIComponent('^2')}`);
  await expect(results(page)).toContainText('2 records');
  await expect(page.getByLabel('Version range (semver)')).toHaveValue('^2');
  await expect(page.getByLabel('Firmware type')).toHaveValue(String(TYPE));
  await expect(results(page).getByRole('link', { name: 'search-beta' })).toHaveCount(2);
});

test('sorting by a column header, and a readable error for a bad range', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.goto('/ui/pool?tags=search-spec');
  await results(page).getByRole('link', { name: /^Version( \(sort\))?$/ }).click();
  await expect(page).toHaveURL(/sort=version/);
  const versions = await results(page).locator('tbody tr td:nth-child(2)').allTextContents();
  const sorted = [...versions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  expect(versions.length).toBe(5);
  expect([sorted, [...sorted].reverse()]).toContainEqual(versions);

  await page.goto('/ui/pool?versionReq=not-a-range');
  await expect(results(page).getByRole('alert')).toBeVisible();
  await expect(page.locator('body')).not.toContainText('"type":');
});

test('pages of 50 results: Next page and Previous page', async ({ page }) => {
  const api = await Api.connect('acme');
  for (let i = 0; i < 51; i++) await api.publish(TYPE, 'search-many', `0.0.${i}`, ['paging-spec']);
  await api.dispose();
  await signIn(page, VIEWER);
  await page.goto('/ui/pool?tags=paging-spec');
  await expect(results(page)).toContainText('51 records');
  await expect(results(page).locator('tbody tr')).toHaveCount(50);
  await results(page).getByRole('link', { name: 'Next page' }).click();
  await expect(page).toHaveURL(/page=1/);
  await expect(results(page).locator('tbody tr')).toHaveCount(1);
  await expect(results(page).getByRole('link', { name: 'Next page' })).toHaveCount(0);
  await results(page).getByRole('link', { name: 'Previous page' }).click();
  await expect(results(page).locator('tbody tr')).toHaveCount(50);
  await expect(results(page).getByRole('link', { name: 'Previous page' })).toHaveCount(0);
});

test('a keyboard alone searches: Tab to the name field, Enter submits', async ({ page }) => {
  await signIn(page, VIEWER);
  await page.goto('/ui/pool');
  const name = page.getByLabel('Name', { exact: true });
  for (let i = 0; i < 30 && !(await name.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(name).toBeFocused();
  await page.keyboard.type('search-beta');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/name=search-beta/);
  await expect(results(page)).toContainText('2 records');
});
