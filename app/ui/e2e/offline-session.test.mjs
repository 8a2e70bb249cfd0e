// The assistant's day in a real browser: sign in online and sync, lose the network (the sync
// server is stopped), run and log a full guided session and a "not carried out", see the
// changes waiting, get the network back, sync, and check as the therapist (the `homerehab`
// CLI on another device) that both arrived.
//
// Then: offline, the tablet app restarts locked; a wrong PIN says how many attempts are left,
// the right one opens today's visits; the "Lås" button locks it again.
//
// Needs: the built UI (app/ui/dist), the binaries sync-server, homerehab-app and homerehab in
// $HOMEREHAB_BIN_DIR (default: target/debug), and /usr/bin/chromium. scripts/test-ui does all.
// Screenshots go to docs/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { bin, shots, PASSWORD, freePort, waitFor } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-'));
const serverDir = path.join(tmp, 'server');
const tabletDir = path.join(tmp, 'tablet');
const therapistDir = path.join(tmp, 'therapist');
let serverPort, appPort, server, app, browser, page;

const startServer = async () => {
  server = await h.startServer(serverDir, serverPort);
};

// The tablet app process (app core + local API), on the same data folder every time.
const startApp = async () => {
  app = await h.startApp(tabletDir, `http://127.0.0.1:${serverPort}`, appPort);
};

before(async () => {
  mkdirSync(shots, { recursive: true });
  serverPort = await freePort();
  appPort = await freePort();
  execFileSync(bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  await startServer();
  await startApp();
  browser = await h.launchChromium();
  page = await h.openPage(browser, 1280, 800);
});

after(async () => {
  await browser?.close();
  await h.stop(app);
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

const statusText = () => page.getByTestId('status-text');

const enterPin = (pin) => h.enterPin(page, pin);

test('an assistant logs a whole session offline and it reaches the therapist', async () => {
  // A visit card renders whole from the visits answer: no request per card that would grow it
  // after it shows (a card that grows moves the buttons under a finger about to tap them).
  const perCard = [];
  const countPerCard = (r) => { if (r.url().includes('/due-tests')) perCard.push(r.url()); };
  page.on('request', countPerCard);
  // Opened without the app's launch key (another user of the machine, a bookmark): the page
  // says where to open it from, and the API answers nothing.
  await page.goto(`http://127.0.0.1:${appPort}/`);
  await page.getByTestId('launch-key-needed').waitFor();
  assert.match(await page.getByTestId('launch-key-needed').innerText(), /Åbn Homerehab fra appens eget link/);
  await page.screenshot({ path: path.join(shots, 'launch-key-needed.png') });
  const keyless = await h.plainFetch(`http://127.0.0.1:${appPort}/api/status`);
  assert.equal(keyless.status, 401);
  // The address the app printed, opened in this same tab (only the fragment changes, which
  // loads no page): the page takes the key, drops it from the address bar and starts again.
  // No cookie: the browser would send one to every port of 127.0.0.1.
  await page.goto(h.appUrl(appPort));
  await page.getByRole('heading', { name: 'Log ind' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the key is not left in the address');
  assert.equal(new URL(page.url()).search, '', 'the key is not left in the address');
  assert.deepEqual(await page.context().cookies(), [], 'the key is in no cookie');

  // Sign in (online) — the app syncs the team's data right after.
  await page.getByRole('heading', { name: 'Log ind' }).waitFor();
  await page.locator('input[name=username]').fill('assistent1');
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByTestId('sign-in').click();

  // Signed in: choose the PIN that unlocks the tablet offline from now on.
  await page.getByRole('heading', { name: 'Vælg pinkode' }).waitFor();
  await enterPin('2468');
  await page.getByRole('heading', { name: 'Gentag pinkode' }).waitFor();
  await enterPin('2468');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  await page.getByTestId('visit').first().waitFor();
  await assert.doesNotReject(statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor());
  assert.deepEqual(perCard, [], 'the visit cards asked for nothing of their own');
  page.off('request', countPerCard);
  // A reload keeps the key (this tab's sessionStorage) without it in the address.
  await page.reload();
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();

  // The network goes away.
  await h.stop(server);
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Offline — ændringer gemt på enheden' }).waitFor();

  const cards = page.getByTestId('visit');
  const dueCard = cards.filter({ hasText: 'Træning mangler' }).first();
  const citizen = (await dueCard.locator('.citizen').textContent()).trim();
  await page.screenshot({ path: path.join(shots, 'visits.png') });

  // The citizen's program on paper, offline too, from the tablet's own copy: opened from the
  // card and back to the visits.
  await dueCard.getByTestId('open-program-sheet').click();
  await page.getByTestId('sheet-citizen').filter({ hasText: citizen }).waitFor();
  assert.ok((await page.getByTestId('sheet-exercise').count()) >= 4, 'every exercise of the program');
  await page.getByTestId('sheet-back').click();
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();

  // The guided session: every exercise, every prescribed set, feedback, next.
  await dueCard.getByTestId('start-session').click();
  await page.getByTestId('exercise').waitFor();
  const total = Number((await page.locator('.progress').textContent()).match(/af (\d+)/)[1]);
  assert.ok(total >= 4, `a demo program has 4–6 exercises, saw ${total}`);
  let setsLogged = 0;
  for (let k = 1; k <= total; k++) {
    await page.locator('.progress', { hasText: `Øvelse ${k} af ${total}` }).waitFor();
    const want = Number((await page.getByTestId('set-count').textContent()).match(/af (\d+)/)[1]);
    for (let s = 1; s <= want; s++) {
      await page.getByTestId('set-done').click();
      await page.getByTestId('set-count').filter({ hasText: `${s} af ${want} sæt` }).waitFor();
      setsLogged++;
    }
    assert.equal(await page.getByTestId('outcome-done').getAttribute('aria-pressed'), 'true',
      'all prescribed sets logged: "Udført" is preselected');
    await page.getByTestId('borg').getByRole('button', { name: '4', exact: true }).click();
    await page.getByTestId('pain').getByRole('button', { name: '2', exact: true }).click();
    if (k === 1) {
      await page.waitForTimeout(600); // the counter settles after a logged set
      await page.screenshot({ path: path.join(shots, 'guided-exercise.png') });
      await page.setViewportSize({ width: 800, height: 1280 });
      await page.screenshot({ path: path.join(shots, 'guided-exercise-portrait.png') });
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    await page.getByTestId('next').click();
  }

  // Finish with the general condition and a note.
  await page.getByTestId('finish').waitFor();
  await page.getByTestId('condition').filter({ hasText: '4 · God' }).click();
  await page.getByTestId('note').fill('Godt humør, lidt træt i benene');
  await page.getByTestId('finish-save').click();
  await page.getByTestId('summary').waitFor();
  assert.equal(await page.getByTestId('summary-row').count(), total);
  await statusText().filter({ hasText: /\d+ ændring(er)? venter/ }).waitFor();
  await page.screenshot({ path: path.join(shots, 'session-summary.png') });

  // Another citizen was not at home.
  await page.getByTestId('back-to-visits').click();
  const other = cards.filter({ hasNotText: citizen }).first();
  const otherCitizen = (await other.locator('.citizen').textContent()).trim();
  await other.getByTestId('not-carried-out').click();
  assert.equal((await page.locator('.nco .citizen').textContent()).trim(), otherCitizen,
    'the tap recorded for the citizen whose card was tapped');
  await page.getByTestId('nco-reason').filter({ hasText: 'Ikke hjemme' }).click();
  await page.getByTestId('nco-save').click();
  await page.getByTestId('notice').waitFor();

  // Still offline, and the status says what is waiting.
  const waiting = await statusText().textContent();
  assert.match(waiting, /^Offline — ændringer gemt på enheden · \d+ ændring(er)? venter$/);

  // The network is back: sync.
  await startServer();
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });

  // The therapist's laptop: a separate device signs in and syncs.
  const visits = await (await fetch(`http://127.0.0.1:${appPort}/api/visits`)).json();
  const courseOf = (name) => visits.find((v) => v.citizen_name === name).course_id;
  // Each CLI command is a process of its own: the encrypted store opens with the PIN the
  // sign-in chose (HOMEREHAB_PIN), as the app does after a restart.
  const cli = (...args) =>
    execFileSync(bin('homerehab'), ['--data-dir', therapistDir, ...args], {
      encoding: 'utf8',
      env: { ...process.env, HOMEREHAB_PIN: '2468' },
    });
  cli('login', '--server', `http://127.0.0.1:${serverPort}`, '--username', 'terapeut1', '--password', PASSWORD);
  cli('sync');
  const sessions = JSON.parse(cli('sessions', '--course', courseOf(citizen)));
  const recent = (s) => s.started_at > Date.now() - 30 * 60 * 1000;
  const done = sessions.filter((s) => recent(s) && s.status === 'completed' && s.set_count === setsLogged);
  assert.equal(done.length >= 1, true, `the therapist sees the ${setsLogged}-set session: ${JSON.stringify(sessions.slice(-3))}`);
  const missed = JSON.parse(cli('sessions', '--course', courseOf(otherCitizen)));
  assert.ok(missed.some((s) => recent(s) && s.status === 'not_carried_out'),
    'the therapist sees today\'s "not carried out"');
});

test('offline, the restarted app opens with the PIN only', async () => {
  // No network, and the tablet app process restarts (e.g. the tablet rebooted).
  await h.stop(server);
  await h.stop(app);
  await startApp();
  await page.goto(`http://127.0.0.1:${appPort}/`);
  await page.getByRole('heading', { name: 'Lås op med pinkode' }).waitFor();
  assert.equal(await page.getByTestId('visit').count(), 0, 'nothing of the data shows while locked');
  const locked = await fetch(`http://127.0.0.1:${appPort}/api/visits`);
  assert.equal(locked.status, 423);
  assert.equal((await locked.json()).kind, 'locked');

  // A wrong PIN: a clear error with the attempts left.
  await enterPin('1357');
  await page.getByTestId('pin-error').filter({ hasText: 'Forkert pinkode — 4 forsøg tilbage' }).waitFor();
  await page.getByTestId('key-2').click();
  await page.getByTestId('key-4').click();
  await page.screenshot({ path: path.join(shots, 'pin-unlock.png') });
  await page.getByTestId('key-erase').click();
  await page.getByTestId('key-erase').click();

  // The right PIN opens today's visits, offline.
  await enterPin('2468');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  await page.getByTestId('visit').first().waitFor();
  assert.ok((await page.getByTestId('visit').count()) >= 2);
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Offline — ændringer gemt på enheden' }).waitFor();

  // "Lås" locks it at once; the PIN opens it again, on the same screen.
  await page.getByTestId('lock').click();
  await page.getByRole('heading', { name: 'Lås op med pinkode' }).waitFor();
  assert.ok(await page.getByTestId('visit').first().isHidden(), 'the visits are hidden while locked');
  await enterPin('2468');
  await page.getByTestId('visit').first().waitFor();
});
