// Every page of the UI with realistic data, at 1280 px and 390 px: axe-core finds no serious
// or critical violation, and a full-page screenshot of each goes to screenshots/.
import { test, expect } from '@playwright/test';
import * as crypto from 'node:crypto';
import { ADMIN, VIEWER } from './state';
import { Api, seedOnce, shootAndCheck, signIn } from './helpers';

const SENSOR = 101;
const GATEWAY = 102;
let recordPath = '';
let collectionPath = '';

function ciTags(branch: string, build: number): string[] {
  const sha = crypto.randomBytes(20).toString('hex');
  return [`branch:${branch}`, `git:${sha}`, 'repo:git@github.com:acme/sensor-fw.git', `build:${build}`, `build-url:https://ci.example.com/acme/sensor-fw/runs/${build}`, 'ci:github'];
}

test.beforeAll(async () => {
  test.setTimeout(60_000);
  ({ recordPath, collectionPath } = await seedOnce('pages', seed));
});

async function seed(): Promise<{ recordPath: string; collectionPath: string }> {
  const api = await Api.connect('acme');
  await api.createType(SENSOR, 'sensor-fw');
  await api.createType(GATEWAY, 'gateway-fw');
  let last: any = null;
  for (let i = 0; i < 6; i++) {
    last = await api.publish(SENSOR, 'sensor-fw', `1.${i}.0`, ciTags(i % 2 ? 'develop' : 'main', 100 + i), `Sensor firmware build ${100 + i}`);
  }
  for (let i = 0; i < 3; i++) await api.publish(GATEWAY, 'gateway-fw', `0.9.${i}`, ciTags('main', 200 + i));
  await api.tag(SENSOR, last.versionNumber, 'released');
  // Two device types with the newest sensor build, a collection with two devices targeting it.
  const record = await api.get(`/pool/types/${SENSOR}/versionNumbers/${last.versionNumber}`);
  await api.associate('dt-sensor-v2', record);
  await api.associate('dt-sensor-v3', record);
  const collection = await api.span('POST', '/collections', { firmware: { management: 'device' }, tags: { site: 'lab' } });
  const image = await api.span('POST', `/collections/${collection.collectionId}/firmware`, { poolRecord: { type: SENSOR, versionNumber: String(last.versionNumber) } });
  for (const id of ['rig-01', 'rig-02']) {
    await api.span('POST', `/collections/${collection.collectionId}/devices`, { deviceId: id, deviceTypeId: 'dt-sensor-v2', firmware: { targetFirmwareId: image.imageId } });
  }
  await api.span('POST', `/collections/${collection.collectionId}/devices/rig-01/checkin`, { firmwareVersion: image.version });
  await api.dispose();
  return { recordPath: `/ui/pool/${SENSOR}/${last.versionNumber}`, collectionPath: `/ui/collections/${collection.collectionId}` };
}

test('every page as an admin: accessible, and shot at both widths', async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, ADMIN);
  const pages: [string, string, string | RegExp][] = [
    ['overview', '/ui/', 'Overview'],
    ['types', '/ui/types', 'Firmware types'],
    ['type-edit', `/ui/types/${SENSOR}`, /Firmware type 101/],
    ['pool-search', '/ui/pool?tags=branch%3Amain', 'Pool search'],
    ['pool-search-empty', '/ui/pool?name=nothing-matches-this', 'Pool search'],
    ['record', recordPath, /sensor-fw/],
    ['upload', '/ui/upload', 'Upload a binary'],
    ['device-types', '/ui/device-types', 'Device types'],
    ['collections', '/ui/collections', 'Collections'],
    ['collection', collectionPath, /^Collection /],
    ['access', '/ui/access', 'Access'],
    ['audit', '/ui/audit', 'Audit log'],
    ['retention', '/ui/retention', 'Retention'],
  ];
  for (const [name, path, heading] of pages) {
    const r = await page.goto(path);
    expect(r!.status(), path).toBe(200);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
    await shootAndCheck(page, name);
  }
});

test('the pages a viewer sees, and the error pages: accessible at both widths', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, VIEWER);
  for (const [name, path] of [['viewer-record', recordPath], ['viewer-collection', collectionPath], ['viewer-types', '/ui/types']]) {
    await page.goto(path);
    await shootAndCheck(page, name);
  }
  const r = await page.goto('/ui/upload');
  expect(r!.status()).toBe(403);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not allowed');
  await shootAndCheck(page, 'forbidden');
});

test('the overview shows figures and the last publishes with their CI facts', async ({ page }) => {
  // A publish of its own: other specs add records to the shared server, and the overview
  // lists only the last 20, so the seeded builds may no longer be among them.
  const api = await Api.connect('acme');
  const build = 7000 + (Date.now() % 1000);
  await api.publish(SENSOR, 'sensor-fw', `3.0.${build}`, ciTags('main', build), 'Overview check');
  await signIn(page, VIEWER);
  await page.goto('/ui/');
  await expect(page.getByRole('heading', { name: 'Figures' })).toBeVisible();
  for (const term of ['Firmware types', 'Pool records', 'Devices', 'Uploaded', 'Stored', 'Dedup ratio']) {
    await expect(page.locator('dt', { hasText: term }).first()).toBeVisible();
  }
  const last = page.locator('section', { has: page.getByRole('heading', { name: 'Last publishes' }) });
  await expect(last.getByRole('row').filter({ hasText: 'sensor-fw' }).first()).toBeVisible();
  await expect(last.getByRole('link', { name: new RegExp(String(build)) }).first()).toHaveAttribute('href', /ci\.example\.com/);
});
