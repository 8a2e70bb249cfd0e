// #14 in the browser: a leader opens "Enheder", finds the assistant's tablet, presses the big
// "Spær" button and says why. The tablet — with a session it has not synced — hands it over at
// its next sync, erases its data, and its sign-in screen says who revoked it and why. The
// leader's list then shows the tablet as erased.
//
// Screenshots: docs/screenshots/devices.png, docs/screenshots/device-revoked.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { bin, shots, PASSWORD, freePort } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-devices-'));
const serverDir = path.join(tmp, 'server');
const tabletDir = path.join(tmp, 'tablet');
let serverPort, tabletPort, leaderPort, server, tablet, leader, browser, page;

before(async () => {
  mkdirSync(shots, { recursive: true });
  serverPort = await freePort();
  tabletPort = await freePort();
  leaderPort = await freePort();
  execFileSync(bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, serverPort);
  const url = `http://127.0.0.1:${serverPort}`;
  tablet = await h.startApp(tabletDir, url, tabletPort);
  leader = await h.startApp(path.join(tmp, 'leader'), url, leaderPort);
  browser = await h.launchChromium();
  page = await h.openPage(browser, 1280, 800);
});

after(async () => {
  await browser?.close();
  await h.stop(tablet);
  await h.stop(leader);
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

const api = (port, p, body) =>
  fetch(`http://127.0.0.1:${port}/api${p}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('a leader revokes a lost tablet; it hands over, erases and says why', async () => {
  // The assistant's tablet: signed in, synced, then a session recorded and not synced.
  assert.equal((await api(tabletPort, '/login', { username: 'assistent1', password: PASSWORD })).status, 200);
  assert.equal((await api(tabletPort, '/sync', {})).status, 200);
  const visits = await (await api(tabletPort, '/visits')).json();
  assert.ok(visits.length > 0);
  const course = visits[0].course_id;
  const nco = await api(tabletPort, `/courses/${course}/not-carried-out`, { reason: 'not_at_home' });
  assert.equal(nco.status, 200, await nco.text());
  const waiting = await (await api(tabletPort, '/status')).json();
  assert.equal(waiting.waiting, 1);

  // The leader: Enheder → the tablet's row → Spær, with a reason.
  await h.signIn(page, leaderPort, 'leder1', '2468');
  await page.getByTestId('tab-devices').click();
  await page.getByRole('heading', { name: 'Enheder' }).waitFor();
  const row = page.getByTestId('device-row').filter({ hasText: 'Lone Mikkelsen' });
  await row.getByTestId('device-state').filter({ hasText: 'I brug' }).waitFor();
  await page.screenshot({ path: path.join(shots, 'devices.png') });
  await row.getByTestId('revoke-device').click();
  await page.locator('input[name=reason]').fill('Glemt i bussen');
  await page.getByTestId('confirm-revoke').click();
  await row.getByTestId('device-state').filter({ hasText: 'Spærret af Hanne Thomsen: Glemt i bussen' }).waitFor();

  // The tablet's next sync hands the session over, then erases.
  const sync = await api(tabletPort, '/sync', {});
  assert.equal(sync.status, 401);
  assert.equal((await sync.json()).kind, 'device_revoked');
  const left = readdirSync(tabletDir).filter((f) => !f.startsWith('homerehab.sqlite3'));
  assert.deepEqual(left.sort(), ['homerehab.lock', 'revoked.json']);
  assert.ok(!existsSync(path.join(tabletDir, 'media')));

  // It says why, and the leader's list shows it erased.
  const st = await (await api(tabletPort, '/status')).json();
  assert.equal(st.signed_in, false);
  assert.equal(st.revoked.by, 'Hanne Thomsen');
  await page.reload();
  await page.getByTestId('tab-devices').click();
  await row.getByTestId('device-state').filter({ hasText: 'data slettet' }).waitFor({ timeout: 20000 });

  // The tablet's screen says who and why.
  const tabletPage = await browser.newPage({ viewport: { width: 1024, height: 768 }, ...h.DANISH_CLOCK });
  await tabletPage.goto(h.appUrl(tabletPort));
  await tabletPage.getByTestId('device-revoked').filter({ hasText: 'Hanne Thomsen' }).waitFor();
  await tabletPage.getByTestId('device-revoked').filter({ hasText: 'Glemt i bussen' }).waitFor();
  await tabletPage.screenshot({ path: path.join(shots, 'device-revoked.png') });
});
