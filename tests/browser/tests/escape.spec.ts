// Names, tags and descriptions are text: an HTML-looking tag never runs as markup.
import { test, expect } from '@playwright/test';
import { MAINTAINER } from './state';
import { Api, seedOnce, signIn } from './helpers';

const TYPE = 121;
const SCRIPT_TAG = '<script>alert(1)</script>';
const IMG_DESCRIPTION = '<img src=x onerror="alert(2)"> & <b>bold</b>';
let recordPath = '';

test.beforeAll(async () => {
  recordPath = await seedOnce('escape', async () => {
  const api = await Api.connect('acme');
  await api.createType(TYPE, '<i>type</i>');
  const record = await api.publish(TYPE, 'escape-app', '1.0.0', [SCRIPT_TAG, 'branch:<b>x</b>'], IMG_DESCRIPTION);
  await api.dispose();
  return `/ui/pool/${TYPE}/${record.versionNumber}`;
  });
});

test('an HTML-looking tag, branch and description are shown as text and never run', async ({ page }) => {
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await signIn(page, MAINTAINER);

  await page.goto(recordPath);
  await expect(page.getByText(SCRIPT_TAG, { exact: true })).toBeVisible();
  await expect(page.getByText(IMG_DESCRIPTION, { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: `Remove tag ${SCRIPT_TAG}` })).toBeVisible();
  // No element came from the strings.
  await expect(page.locator('main script, main img, main b')).toHaveCount(0);

  // The same in the search results, searched by that very tag, and on the types page.
  await page.goto(`/ui/pool?tags=${encodeURIComponent(SCRIPT_TAG)}`);
  await expect(page.locator('#results')).toContainText('1 record');
  await expect(page.locator('#results').getByText(SCRIPT_TAG, { exact: true })).toBeVisible();
  await expect(page.getByLabel('Tags (all of, comma-separated)')).toHaveValue(SCRIPT_TAG);
  await page.goto('/ui/types');
  await expect(page.getByRole('cell', { name: '<i>type</i>' })).toBeVisible();
  await expect(page.locator('main i')).toHaveCount(0);

  // Adding such a tag through the page is as harmless.
  await page.goto(recordPath);
  await page.getByLabel('New tag').fill('<svg onload=alert(3)>');
  await page.getByRole('button', { name: 'Add tag' }).click();
  await expect(page.getByText('<svg onload=alert(3)>', { exact: true })).toBeVisible();
  await page.reload();
  await expect(page.getByText('<svg onload=alert(3)>', { exact: true })).toBeVisible();
  await expect(page.locator('main svg')).toHaveCount(0);

  expect(dialogs).toEqual([]);
});

test('every UI answer carries a self-only Content-Security-Policy', async ({ page }) => {
  await signIn(page, MAINTAINER);
  const r = await page.goto(recordPath);
  const csp = r!.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
});
