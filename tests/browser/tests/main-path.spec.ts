// The release manager's main path through the UI, on one record from upload to a device:
// sign in → create a type → drop a binary on the upload area → its record with tags → find it
// by tag and by commit → promote it → associate a device type → a collection and a device
// targeting it → the record page shows the device → sign out.
import { test, expect, Page } from '@playwright/test';
import * as crypto from 'node:crypto';
import { ADMIN } from './state';
import { expectAccessible, signIn, signOut, unique } from './helpers';

const TYPE = 150;

/** Drops `bytes` as a file on `selector` through a real DataTransfer (dragenter, dragover, drop). */
async function dropFile(page: Page, selector: string, name: string, bytes: Buffer): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ b64, name }) => {
      const raw = atob(b64);
      const data = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([data], name, { type: 'application/octet-stream' }));
      return dt;
    },
    { b64: bytes.toString('base64'), name },
  );
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent(selector, type, { dataTransfer });
  }
}

test('main path: type, drag-and-drop upload, record, search, promote, associate, target, sign out', async ({ page }) => {
  test.setTimeout(120_000);
  const name = unique('blinky');
  const commit = crypto.randomBytes(20).toString('hex');
  // A firmware-looking binary: an ARM vector table, then code-like random bytes (4 MiB).
  const binary = Buffer.concat([Buffer.from([0x00, 0x80, 0x00, 0x20, 0xc1, 0x00, 0x00, 0x08]), crypto.randomBytes(4 * 1024 * 1024)]);
  const sha256 = crypto.createHash('sha256').update(binary).digest('hex');

  await signIn(page, ADMIN);

  // A firmware type.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Firmware types' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Firmware types' })).toBeVisible();
  await page.getByLabel('Type number').fill(String(TYPE));
  await page.getByLabel('Name', { exact: true }).fill('blinky-mcu');
  await page.getByRole('button', { name: 'Create type' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'blinky-mcu' })).toContainText(String(TYPE));

  // Upload: the file dropped on the drop zone, progress in bytes and %, then its SHA-256.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upload' }).click();
  await page.getByLabel('Firmware type').selectOption(String(TYPE));
  // Every status text the upload shows, kept as it changes.
  await page.evaluate(() => {
    const w = window as any;
    w.__statuses = [];
    const status = document.querySelector('.upload-status')!;
    new MutationObserver(() => w.__statuses.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await dropFile(page, '#drop-zone', `${name}.bin`, binary);
  const progress = page.getByLabel('Upload progress');
  await expect(progress).toBeVisible();
  await expect(page.locator('#uploaded-sha256')).toHaveText(sha256, { timeout: 30_000 });
  await expect(progress).toHaveAttribute('value', '100');
  await expect(page.locator('.upload-status')).toContainText(`${binary.length} of ${binary.length} bytes (100%)`);
  const statuses: string[] = await page.evaluate(() => (window as any).__statuses);
  expect(statuses.some((s) => /^\d+ of \d+ bytes \(\d+%\)$/.test(s)), `progress texts: ${statuses.join(' | ')}`).toBe(true);
  await expectAccessible(page, 'upload done');

  // Its record, with tags.
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Version', { exact: true }).fill('1.4.2');
  await page.getByLabel('Description').fill('Blinks the status LED');
  await page.getByLabel('Tags (comma-separated)').fill(`branch:main, git:${commit}, build:77, build-url:https://ci.example/run/77`);
  await page.getByRole('button', { name: 'Create record' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  await expect(page.getByRole('status')).toContainText('Pool record created.');
  await expect(page.getByText(sha256)).toBeVisible();
  const recordUrl = new URL(page.url()).pathname;
  expect(recordUrl).toMatch(new RegExp(`^/ui/pool/${TYPE}/\\d+$`));

  // Found by tag...
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pool' }).click();
  await page.getByLabel('Tags (all of, comma-separated)').fill(`git:${commit}`);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/tags=git%3A/);
  await expect(page.locator('#results')).toContainText('1 record');
  await expect(page.locator('#results').getByRole('link', { name })).toBeVisible();
  // ...and by a short commit.
  await page.getByRole('link', { name: 'Clear' }).click();
  await page.getByLabel('Git commit').fill(commit.slice(0, 8));
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`commit=${commit.slice(0, 8)}`));
  await expect(page.locator('#results')).toContainText('1 record');
  await page.locator('#results').getByRole('link', { name }).click();
  await expect(page).toHaveURL(new RegExp(`${recordUrl}$`));

  // Promote: the `released` tag.
  await page.getByRole('button', { name: 'Promote to released' }).click();
  await expect(page.getByRole('button', { name: 'Remove tag released' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Promote to released' })).toHaveCount(0);

  // Associate a device type.
  const deviceType = unique('dt-lamp');
  await page.getByLabel('Device type id').fill(deviceType);
  await page.getByRole('button', { name: 'Associate device type' }).click();
  await expect(page.getByRole('button', { name: `Dissociate ${deviceType}` })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('button', { name: 'Remove tag released' })).toBeVisible();
  await expect(page.getByRole('button', { name: `Dissociate ${deviceType}` })).toBeVisible();
  const versionNumber = recordUrl.split('/').pop()!;

  // A collection, the record as its image, a device targeting that image.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collections' }).click();
  await page.getByLabel('Management scope').selectOption('device');
  await page.getByRole('button', { name: 'Create collection' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(/^Collection \S+$/);
  const collectionUrl = page.url();
  await page.getByLabel('Firmware type').fill(String(TYPE));
  await page.getByLabel('Version number').fill(versionNumber);
  await page.getByRole('button', { name: 'Add pool record' }).click();
  await expect(page.getByRole('link', { name: `type ${TYPE} #${versionNumber}` })).toBeVisible();
  const device = unique('lamp');
  await page.getByLabel('Device id').fill(device);
  await page.getByLabel('Device type', { exact: true }).fill(deviceType);
  await page.getByRole('button', { name: 'Add device' }).click();
  const target = page.getByLabel(`Target of ${device}`);
  await expect(target).toBeVisible();
  const option = target.locator('option').filter({ hasText: '1.4.2' });
  await target.selectOption((await option.getAttribute('value'))!);
  await page.getByRole('button', { name: `Set target of ${device}` }).click();
  await expect(page.locator(`#device-${device}`)).toContainText('1.4.2');

  // The record page names the device among those targeting it.
  await page.goto(recordUrl);
  const devices = page.locator('section', { has: page.getByRole('heading', { name: 'Devices', exact: true }) });
  await expect(devices.getByRole('link', { name: device })).toBeVisible();
  await expect(devices.getByRole('link', { name: device })).toHaveAttribute('href', new RegExp(`^${new URL(collectionUrl).pathname}`));

  await signOut(page);
  await page.goto(recordUrl);
  await expect(page).toHaveURL(/\/ui\/login/);
});
