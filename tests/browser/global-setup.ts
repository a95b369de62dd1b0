// Starts the real fwrepo-server for the browser tests: a fresh data dir, accounts made with
// the server's own `user create` command, a free 127.0.0.1 port; the teardown stops it.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ACCOUNTS, PASSWORD, State, STATE_ENV } from './tests/state';

const PIDFILE = path.join(__dirname, '.server.pid');

function serverBin(): string {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/fwrepo/target');
  const bin = path.join(target, 'debug', 'fwrepo-server');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: build it first (cargo build --workspace --bins)`);
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A server left by a runner that died (its pidfile survived): stop its process group. */
function stopStale(): void {
  if (!fs.existsSync(PIDFILE)) return;
  const [pid, dataDir] = fs.readFileSync(PIDFILE, 'utf8').split('\n');
  try {
    process.kill(-Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
  if (dataDir && dataDir.includes('fwrepo-browser-')) fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(PIDFILE, { force: true });
}

function run(bin: string, args: string[], input?: string): string {
  const r = spawnSync(bin, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function waitHealthy(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`fwrepo-server exited (${child.exitCode}):\n${fs.readFileSync(log, 'utf8')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fwrepo-server did not answer ${url}/healthz within 30 s:\n${fs.readFileSync(log, 'utf8')}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  stopStale();
  const bin = serverBin();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fwrepo-browser-'));
  const data = path.join(dataDir, 'data');
  for (const a of ACCOUNTS) {
    run(bin, ['user', 'create', '--data-dir', data, '--partner', a.partner, '--username', a.username, '--role', a.role], PASSWORD + '\n');
  }
  // OAuth clients seed data through the JSON API where a test is not about the page itself.
  const clients: State['clients'] = {};
  for (const partner of ['acme', 'other']) {
    const out = run(bin, ['client', 'create', '--data-dir', data, '--partner', partner, '--scope', 'ota:read', '--scope', 'ota:write', '--scope', 'admin', '--json']);
    const c = JSON.parse(out);
    clients[partner] = { id: c.client_id, secret: c.client_secret };
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dataDir, 'server.log');
  const logFd = fs.openSync(log, 'a');
  // Its own process group, so the teardown (or the watchdog) stops it and anything it starts.
  const child = spawn(bin, ['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`, '--public-url', url], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  fs.writeFileSync(PIDFILE, `${child.pid}\n${dataDir}\n`);
  // Watchdog: when this runner dies without its teardown, the server and data dir go too.
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -KILL -${child.pid} 2>/dev/null; rm -rf '${dataDir}' '${PIDFILE}'`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  await waitHealthy(url, child, log);

  const state: State = { url, dataDir, clients, serverLog: log };
  const stateFile = path.join(dataDir, 'state.json');
  fs.writeFileSync(stateFile, JSON.stringify(state));
  process.env[STATE_ENV] = stateFile;
  process.env.FWREPO_URL = url;

  return async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const exited = child.exitCode !== null || await Promise.race([
      new Promise<boolean>((r) => child.once('exit', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    if (!exited && child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    try {
      process.kill(-watchdog.pid!, 'SIGKILL');
    } catch {
      // gone
    }
    fs.closeSync(logFd);
    if (process.env.FWREPO_KEEP_DATA) console.log(`data dir kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(PIDFILE, { force: true });
  };
}
