// A refusal reaches the person: an assistant of team Syd records a "not carried out" for one
// of her citizens; before the tablet syncs, she is moved to team Nord (straight in the
// server's database: there is no admin command for it yet). The sync then says, in the status
// bar, that a change was refused, "Hvorfor?" shows the reason, the visit card says so too, and
// the change stays on the tablet. When she is back on team Syd and signs in again, it is
// delivered and the warning goes.
//
// Needs what the other browser tests need, plus python3 (its sqlite3 module edits the server's
// database). Screenshot: docs/screenshots/refused-change.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { bin, shots, PASSWORD, freePort } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-refusal-'));
const serverDir = path.join(tmp, 'server');
const tabletDir = path.join(tmp, 'tablet');
let serverPort, appPort, server, app, browser, page;

const sql = (statement) =>
  execFileSync('python3', ['-c', `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
n = db.execute(sys.argv[2]).rowcount
db.commit()
print(n)
`, path.join(serverDir, 'homerehab.sqlite3'), statement], { encoding: 'utf8' }).trim();

before(async () => {
  mkdirSync(shots, { recursive: true });
  serverPort = await freePort();
  appPort = await freePort();
  const admin = (...args) => execFileSync(bin('sync-server'), ['--data-dir', serverDir, ...args], { stdio: 'ignore' });
  admin('seed-demo');
  server = await h.startServer(serverDir, serverPort);
  app = await h.startApp(tabletDir, `http://127.0.0.1:${serverPort}`, appPort);
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

test('a refused change is said with its reason, kept, and delivered once allowed', async () => {
  await h.signIn(page, appPort, 'assistent3', '1357');
  await page.getByRole('heading', { name: 'Dagens besøg' }).waitFor();
  await page.getByTestId('visit').first().waitFor();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor();

  // One of her citizens, on a course of team Syd.
  const visits = await (await fetch(`http://127.0.0.1:${appPort}/api/visits`)).json();
  const sydCourses = JSON.parse(execFileSync('python3', ['-c', `
import sqlite3, sys, json, uuid
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT d.course_id FROM documents d JOIN teams t ON t.id = d.team_id WHERE t.name = 'Hjemmetræning Syd' AND d.kind = 'course'")
print(json.dumps([str(uuid.UUID(bytes=r[0])) for r in rows]))
`, path.join(serverDir, 'homerehab.sqlite3')], { encoding: 'utf8' }));
  const syd = visits.find((v) => sydCourses.includes(v.course_id));
  assert.ok(syd, 'the assistant sees a Syd course');
  const card = page.getByTestId('visit').filter({ hasText: syd.citizen_name });
  await card.getByTestId('not-carried-out').click();
  await page.getByTestId('nco-reason').filter({ hasText: 'Ikke hjemme' }).click();
  await page.getByTestId('nco-save').click();
  await page.getByTestId('notice').waitFor();

  // She is moved to team Nord before the tablet syncs.
  const moveTo = (team) => sql(`UPDATE users SET team_id = (SELECT id FROM teams WHERE name = '${team}')
    WHERE username = 'assistent3'`);
  assert.equal(moveTo('Hjemmetræning Nord'), '1');
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: '1 ændring afvist af serveren' }).waitFor({ timeout: 20000 });
  await page.getByTestId('refused-why').click();
  await page.getByTestId('refusal').filter({ hasText: 'Du har ikke adgang til dette forløb' }).waitFor();
  await page.getByTestId('refusals').filter({ hasText: 'gemt på enheden' }).waitFor();
  await card.getByTestId('refusal-notice').waitFor();
  await page.screenshot({ path: path.join(shots, 'refused-change.png') });

  // Kept: still waiting on the tablet, and not sent again by the next sync.
  const status = await (await fetch(`http://127.0.0.1:${appPort}/api/status`)).json();
  assert.equal(status.state, 'refused');
  assert.equal(status.waiting, 1);
  const refused = status.refused.filter((r) => r.unsent);
  assert.equal(refused.length, 1);
  assert.equal(refused[0].refusal, 'forbidden');
  assert.equal(refused[0].course_id, syd.course_id);

  // She is back on team Syd and signs in again: the change is delivered.
  assert.equal(moveTo('Hjemmetræning Syd'), '1');
  await fetch(`http://127.0.0.1:${appPort}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'assistent3', password: PASSWORD }),
  }).then((r) => assert.equal(r.status, 200));
  await fetch(`http://127.0.0.1:${appPort}/api/pin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pin: '1357' }),
  }).then((r) => assert.equal(r.status, 200));
  await page.reload();
  await page.getByTestId('sync-now').click();
  await statusText().filter({ hasText: 'Alt er synkroniseret' }).waitFor({ timeout: 20000 });
  assert.equal(await card.getByTestId('refusal-notice').count(), 0);
});
