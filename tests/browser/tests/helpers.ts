// Shared steps of the browser specs: signing in, seeding through the JSON API, the axe check
// and the screenshots.
import { APIRequestContext, Page, expect, request } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Account, PASSWORD, state } from './state';

export const SCREENSHOTS = path.join(__dirname, '..', 'screenshots');

/** Signs in through the login form and waits to land on a signed-in page. */
export async function signIn(page: Page, who: Account, password = PASSWORD): Promise<void> {
  await page.goto('/ui/login');
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/ui\/login/);
}

/** The CSRF token a page carries in its forms (hidden input) or its meta tag. */
export async function csrfToken(page: Page): Promise<string> {
  const fromInput = page.locator('input[name="csrf"], input[name="csrf_token"], input[name="_csrf"]').first();
  if ((await fromInput.count()) > 0) return (await fromInput.getAttribute('value')) ?? '';
  const fromMeta = page.locator('meta[name="csrf-token"]');
  const token = (await fromMeta.getAttribute('content')) ?? '';
  expect(token, 'the page carries a CSRF token').not.toBe('');
  return token;
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const summary = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n  ')}`);
  expect(summary, `axe violations on ${what}`).toEqual([]);
}

/** Full-page screenshots at desktop (1280 px) and phone (390 px) width, with the axe check at both. */
export async function shootAndCheck(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [suffix, width, height] of [['desktop', 1280, 800], ['mobile', 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await expectAccessible(page, `${name} at ${width} px`);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/**
 * Runs a spec's seeding once per server, whatever the worker: a worker restarted after a
 * failure runs `beforeAll` again, and seeding twice would collide (409) on names.
 */
export async function seedOnce<T>(name: string, seed: () => Promise<T>): Promise<T> {
  const file = path.join(state().dataDir, `seed-${name}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const value = await seed();
  fs.writeFileSync(file, JSON.stringify(value));
  return value;
}

/** A unique suffix so specs running side by side never collide on names. */
export function unique(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

/** A firmware-looking binary of `size` random bytes, written to a temp file. */
export function binaryFile(dir: string, name: string, size = 200_000): { path: string; bytes: Buffer; sha256: string } {
  const bytes = crypto.randomBytes(size);
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return { path: file, bytes, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

/** A partner's JSON API through an OAuth client made by the global setup. */
export class Api {
  private constructor(
    private readonly ctx: APIRequestContext,
    private readonly base: string,
  ) {}

  static async connect(partner: string): Promise<Api> {
    const s = state();
    const client = s.clients[partner];
    const anon = await request.newContext({ baseURL: s.url });
    const r = await anon.post('/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret },
    });
    expect(r.status(), await r.text()).toBe(200);
    const token = (await r.json()).access_token as string;
    await anon.dispose();
    const ctx = await request.newContext({ baseURL: s.url, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
    return new Api(ctx, `/v1/ota/partners/${partner}`);
  }

  private async ok(what: string, r: Awaited<ReturnType<APIRequestContext['get']>>): Promise<any> {
    expect(r.status(), `${what}: ${await r.text()}`).toBeLessThan(300);
    const text = await r.text();
    return text ? JSON.parse(text) : null;
  }

  async createType(type: number, name: string): Promise<void> {
    const r = await this.ctx.post(`${this.base}/types`, { data: { name, type } });
    if (r.status() !== 409) await this.ok('create type', r);
  }

  /** Upload + move to the repository: the repository URL. */
  async storeBinary(bytes: Buffer): Promise<string> {
    const up = await this.ok('upload', await this.ctx.post(`${this.base}/binaries`, { data: bytes, headers: { 'Content-Type': 'application/octet-stream' } }));
    const moved = await this.ok('move', await this.ctx.post(`${this.base}/binaries/moveToRepository`, { data: { value: up.value } }));
    return moved.value as string;
  }

  /** A pool record of fresh random bytes: the record as the API answers it. */
  async publish(type: number, name: string, version: string, tags: string[], description?: string): Promise<any> {
    const url = await this.storeBinary(crypto.randomBytes(4096));
    return this.ok('create record', await this.ctx.post(`${this.base}/pool`, { data: { name, type, version, url, tags, description } }));
  }

  async get(path: string): Promise<any> {
    return this.ok(`GET ${path}`, await this.ctx.get(`${this.base}${path}`));
  }

  /** Adds a tag to a pool record (PUT of the record with one more tag). */
  async tag(type: number, versionNumber: number | string, tag: string): Promise<void> {
    const path = `${this.base}/pool/types/${type}/versionNumbers/${versionNumber}`;
    const record = await this.ok('get record', await this.ctx.get(path));
    const { name, description, version, url, tags } = record;
    await this.ok('put record', await this.ctx.put(path, { data: { name, description, version, url, tags: [...tags, tag] } }));
  }

  /** Associates a pool record (as the pool GETs answer it) with a device type. */
  async associate(deviceType: string, record: any): Promise<any> {
    return this.ok('associate', await this.ctx.post(`${this.base}/deviceTypes/${deviceType}/firmwareImages`, { data: record }));
  }

  /** The Span collection API (top-level paths, the token's partner). */
  async span(method: 'POST' | 'PATCH' | 'GET', path: string, data?: unknown): Promise<any> {
    return this.ok(`${method} ${path}`, await this.ctx.fetch(path, { method, data }));
  }

  /** The status a GET answers (for absence checks). */
  async status(path: string): Promise<number> {
    return (await this.ctx.get(`${this.base}${path}`)).status();
  }

  async dispose(): Promise<void> {
    await this.ctx.dispose();
  }
}
