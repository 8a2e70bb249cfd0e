// A server upgraded past this app's sync protocol: the tablet reaches the real server through a
// small HTTP proxy which, once the "upgrade" is switched on, answers every sync as a server of a
// newer protocol does (400, kind `unsupported_protocol`, the message the server sends; the
// server's own answer is checked in sync-server/tests/http.rs). The status bar says to update
// the app, not "offline"; the visit recorded meanwhile stays on the tablet; and once the two
// speak the same protocol again it is delivered. Then the other way round, as in a rolling
// upgrade where the app is updated before the server: the proxy answers as an older server
// (naming its version in the `homerehab-sync-protocol` header) and the status bar says the
// server is being updated, not "update the app".
//
// Last, a sign-in the server no longer takes (the token expired overnight while the tablet was
// opened with the PIN): the status bar says to sign in again, not "offline", and signing in
// again sends the visit kept meanwhile.
//
// Screenshots: docs/screenshots/update-required.png, docs/screenshots/server-behind.png,
// docs/screenshots/sign-in-again.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { bin, shots, freePort } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-update-'));
const serverDir = path.join(tmp, 'server');
const tabletDir = path.join(tmp, 'tablet');
let serverPort, proxyPort, appPort, server, proxy, app, browser, page;
// null: the real server answers; 'newer' / 'older': the proxy answers as a server of that
// protocol version.
let refuseAs = null;
let refusedSyncs = 0;

// Everything goes on to the real server, but a sync while `newerServer` is set.
function startProxy() {
  proxy = createServer((req, res) => {
    if (refuseAs === 'expired' && req.url.startsWith('/v1/sync')) {
      // The server's answer to a token that expired (sync-server's auth).
      refusedSyncs += 1;
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ error: 'unauthorized', message: 'the token expired; log in again' }));
      return;
    }
    if (refuseAs && req.url.startsWith('/v1/sync')) {
      refusedSyncs += 1;
      req.resume();
      const speaks = refuseAs === 'newer' ? '6' : '4';
      const body = JSON.stringify({
        error: 'unsupported_protocol',
        message: `protocol version 5 is not supported (this side speaks ${speaks})`,
      });
      res.writeHead(400, { 'content-type': 'application/json', 'homerehab-sync-protocol': speaks });
      res.end(body);
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: serverPort, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  serverPort = await freePort();
  proxyPort = await freePort();
  appPort = await freePort();
  execFileSync(bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, serverPort);
  await startProxy();
  app = await h.startApp(tabletDir, `http://127.0.0.1:${proxyPort}`, appPort);
  browser = await h.launchChromium();
  page = await h.openPage(browser, 1280, 800);
});

after(async () => {
  await browser?.close();
  await h.stop(app);
  await new Promise((r) => (proxy ? proxy.close(r) : r()));
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

const statusText = () => page.getByTestId('status-text');

// Records the `nth` visit as not carried out (the citizen was not home) and syncs.
async function visitNotCarriedOutThenSync(nth) {
  const card = page.getByTestId('visit').nth(nth);
  await card.getByTestId('not-carried-out').click();
  await page.getByTestId('nco-reason').filter({ hasText: 'Ikke hjemme' }).click();
  await page.getByTestId('nco-save').click();
  await page.getByTestId('notice').waitFor();
  await page.getByTestId('sync-now').click();
}
const status = async () => (await fetch(`http://127.0.0.1:${appPort}/api/status`)).json();

test('a server past the app’s protocol says "update the app", and nothing is lost', async () => {
  await h.signIn(page, appPort, 'assistent1', '2468');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  await page.getByTestId('visit').first().waitFor();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor();

  // The server is upgraded; the assistant records a visit that was not carried out.
  refuseAs = 'newer';
  await visitNotCarriedOutThenSync(0);
  await statusText().filter({ hasText: 'Opdatér appen for at synkronisere' }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(shots, 'update-required.png') });
  let s = await status();
  assert.equal(s.state, 'update_required');
  assert.equal(s.waiting, 1, 'the visit waits on the tablet');
  assert.equal(refusedSyncs, 1, 'said once, not retried like a busy server');

  // In English too.
  await page.getByTestId('language').click();
  await statusText().filter({ hasText: 'Update the app to sync' }).waitFor();
  await page.getByTestId('language').click();

  // The two speak the same protocol again: the visit is delivered and the warning goes.
  refuseAs = null;
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
  s = await status();
  assert.equal(s.state, 'synced');
  assert.equal(s.waiting, 0);
});

test('a server behind the app’s protocol says it is being updated, and nothing is lost', async () => {
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor();
  const before = refusedSyncs;

  // The app was updated first; its server follows later. A visit is recorded meanwhile.
  refuseAs = 'older';
  await visitNotCarriedOutThenSync(1);
  await statusText().filter({ hasText: 'Serveren opdateres' }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(shots, 'server-behind.png') });
  let s = await status();
  assert.equal(s.state, 'server_behind');
  assert.equal(s.waiting, 1, 'the visit waits on the tablet');
  assert.equal(refusedSyncs - before, 1, 'said once, not retried like a busy server');
  assert.doesNotMatch(await statusText().innerText(), /Opdatér appen/);

  await page.getByTestId('language').click();
  await statusText().filter({ hasText: 'The server is being updated' }).waitFor();
  await page.getByTestId('language').click();

  // The server is upgraded: the visit is delivered.
  refuseAs = null;
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
  s = await status();
  assert.equal(s.state, 'synced');
  assert.equal(s.waiting, 0);
});

test('a sign-in the server no longer takes says "sign in again", and signing in sends the work', async () => {
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor();
  const before = refusedSyncs;
  refuseAs = 'expired';
  await visitNotCarriedOutThenSync(2);
  await statusText().filter({ hasText: 'Log ind igen for at sende' }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(shots, 'sign-in-again.png') });
  let s = await status();
  assert.equal(s.state, 'sign_in_again');
  assert.equal(s.waiting, 1, 'the visit waits on the tablet');
  assert.equal(refusedSyncs - before, 1, 'said once, not retried like a busy server');

  // The button signs out (the work stays) and opens the sign-in; signing in sends the visit.
  await page.getByTestId('sync-sign-in-again').click();
  await page.getByRole('heading', { name: 'Log ind' }).waitFor();
  s = await status();
  assert.equal(s.waiting, 1, 'signing out kept the visit');
  refuseAs = null;
  await h.signIn(page, appPort, 'assistent1', '2468');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
  s = await status();
  assert.equal(s.state, 'synced');
  assert.equal(s.waiting, 0);
});
