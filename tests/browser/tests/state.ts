// What global-setup.ts made (server URL, data dir, OAuth clients) and the accounts it created.
import * as fs from 'node:fs';

export const STATE_ENV = 'FWREPO_BROWSER_STATE';

/** Every account's password (12+ characters, as `user create` demands). */
export const PASSWORD = 'correct-horse-battery-9';

export type Role = 'viewer' | 'maintainer' | 'admin';
export interface Account {
  partner: string;
  username: string;
  role: Role;
}

export const ADMIN: Account = { partner: 'acme', username: 'alice', role: 'admin' };
export const MAINTAINER: Account = { partner: 'acme', username: 'mike', role: 'maintainer' };
export const VIEWER: Account = { partner: 'acme', username: 'vera', role: 'viewer' };
export const OTHER_ADMIN: Account = { partner: 'other', username: 'oscar', role: 'admin' };
export const ACCOUNTS: Account[] = [ADMIN, MAINTAINER, VIEWER, OTHER_ADMIN];

export interface State {
  url: string;
  dataDir: string;
  serverLog: string;
  clients: Record<string, { id: string; secret: string }>;
}

export function state(): State {
  const file = process.env[STATE_ENV];
  if (!file) throw new Error(`${STATE_ENV} is not set: run through playwright.config.ts (global setup)`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
