// What the browser tests share: the binaries, free ports, starting and stopping the real
// processes, chromium, signing in through the UI, and a TCP relay that cuts one device's
// network while the others stay online.

import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../../..');
export const bin = (name) => path.join(process.env.HOMEREHAB_BIN_DIR ?? path.join(repo, 'target/debug'), name);
export const shots = path.join(repo, 'docs/screenshots');
export const PASSWORD = 'demo1234';

// The launch key every app the tests start is given (HOMEREHAB_LAUNCH_KEY): its API and media
// answer only a page opened at `appUrl` (the key in the fragment, kept by the page in its
// tab's sessionStorage and sent in a header) or a request carrying the key, as a program
// sends it. Every fetch a test makes from node carries it, like the
// app's own launcher would; the browser pages go the person's way, through `appUrl`.
export const LAUNCH_KEY = 'e2e-launch-key-0123456789abcdef-0123';
export const appUrl = (port) => `http://127.0.0.1:${port}/#key=${LAUNCH_KEY}`;
export const plainFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) =>
  plainFetch(url, { ...init, headers: { 'x-homerehab-key': LAUNCH_KEY, ...(init.headers ?? {}) } });

// A port free now, below the kernel's ephemeral range (32768 and up): a port the kernel hands
// out (listen on 0) may be given again to an outgoing connection before the process that was
// meant to listen on it starts, which once failed a CI run with "address already in use".
const given = new Set();
const canListen = (port) =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
export async function freePort() {
  for (let i = 0; i < 1000; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (given.has(port)) continue;
    if (await canListen(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error('no free port between 20000 and 32000');
}

export async function waitFor(url, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function start(name, args) {
  const child = spawn(bin(name), args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn', HOMEREHAB_LAUNCH_KEY: LAUNCH_KEY },
  });
  child.on('error', (e) => {
    throw new Error(`${name} could not start (${e.message}); build it first`);
  });
  return child;
}

export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function startServer(dir, port) {
  const server = start('sync-server', ['--data-dir', dir, '--bind', `127.0.0.1:${port}`, 'serve']);
  await waitFor(`http://127.0.0.1:${port}/healthz`);
  return server;
}

// A device's app process (app core + local API + the built UI) on its own data folder. The
// test decides when to sync ("Synkronisér nu"): no background sync in between.
export async function startApp(dir, serverUrl, port) {
  const app = start('homerehab-app', [
    '--data-dir', dir,
    '--server', serverUrl,
    '--bind', `127.0.0.1:${port}`,
    '--ui-dir', path.join(repo, 'app/ui/dist'),
    '--sync-interval', '3600',
  ]);
  await waitFor(`http://127.0.0.1:${port}/api/status`);
  return app;
}

export const launchChromium = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

// The users' clock: Danish time, whatever zone the test machine runs in. The app's rules
// count days and weeks in Danish time (`shared::schedule::date_of`) and the UI shows the
// browser's local time, so a test run near UTC midnight must not see two different days.
export const DANISH_CLOCK = { timezoneId: 'Europe/Copenhagen' };

// A page of `width` × `height` pixels whose own errors are printed, named by `who` when a test
// drives several.
export async function openPage(browser, width, height, who = '') {
  const page = await browser.newPage({ viewport: { width, height }, ...DANISH_CLOCK });
  page.on('pageerror', (e) => console.error(`${who ? `${who} ` : ''}page error:`, e.message));
  return page;
}

// Types a PIN on the on-screen keypad and presses OK.
export async function enterPin(page, pin) {
  for (const d of pin) await page.getByTestId(`key-${d}`).click();
  await page.getByTestId('key-ok').click();
}

// Signs in through the UI (online) and chooses the PIN; ends on the role's home page.
export async function signIn(page, appPort, username, pin, password = PASSWORD) {
  await page.goto(appUrl(appPort));
  await page.getByRole('heading', { name: 'Log ind' }).waitFor();
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.getByTestId('sign-in').click();
  await page.getByRole('heading', { name: 'Vælg pinkode' }).waitFor();
  await enterPin(page, pin);
  await page.getByRole('heading', { name: 'Gentag pinkode' }).waitFor();
  await enterPin(page, pin);
}

// A TCP relay from `listenPort` to `targetPort` on loopback: `cut()` drops every connection
// and refuses new ones (this device is offline), `restore()` brings it back.
export function relay(listenPort, targetPort) {
  const sockets = new Set();
  let server = null;
  const restore = () =>
    new Promise((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => {
            client.destroy();
            upstream.destroy();
            sockets.delete(s);
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', resolve);
    });
  const cut = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  return { restore, cut };
}
