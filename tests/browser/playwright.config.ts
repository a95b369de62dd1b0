// Browser tests of the web UI: Debian's Chromium (/usr/bin/chromium, never a downloaded
// browser) driven by Playwright against the real fwrepo-server started by global-setup.ts.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  // One server and one data dir are shared: two workers keep the 2-core machine usable.
  workers: 2,
  fullyParallel: false,
  // A flaky test is a failing test: nothing is retried.
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: './test-results',
  // `list` ends with the passed / failed counts.
  reporter: [['list']],
  use: {
    // Set by global-setup.ts (workers load this file again after it ran).
    baseURL: process.env.FWREPO_URL,
    browserName: 'chromium',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Without the background-networking flags Chromium keeps dialling out of a closed network.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
