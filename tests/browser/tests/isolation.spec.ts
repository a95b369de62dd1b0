// Partner isolation in the UI: another partner's record and collection are 404 pages.
import { test, expect } from '@playwright/test';
import { ADMIN, OTHER_ADMIN } from './state';
import { Api, signIn } from './helpers';

const TYPE = 130;

test("another partner's record and collection are 404, as in the API", async ({ page }) => {
  const api = await Api.connect('other');
  await api.createType(TYPE, 'other-fw');
  const record = await api.publish(TYPE, 'other-secret', '1.0.0', ['branch:main']);
  await api.dispose();
  const recordPath = `/ui/pool/${TYPE}/${record.versionNumber}`;

  // Its owner sees it...
  await signIn(page, OTHER_ADMIN);
  await page.goto(recordPath);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('other-secret');
  await page.goto('/ui/collections');
  await page.getByLabel('Management scope').selectOption('device');
  await page.getByRole('button', { name: 'Create collection' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(/^Collection \S+$/);
  const collectionPath = new URL(page.url()).pathname;
  await page.getByRole('button', { name: 'Sign out' }).click();

  // ...acme's admin gets the 404 page for both, and no trace of it in searches.
  await signIn(page, ADMIN);
  for (const path of [recordPath, `${recordPath}/download`, collectionPath]) {
    const r = await page.goto(path);
    expect(r!.status(), path).toBe(404);
  }
  await page.goto(recordPath);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await expect(page.locator('body')).not.toContainText('other-secret');
  await page.goto('/ui/pool?name=other-secret');
  await expect(page.locator('#results')).toContainText('0 records');
});
