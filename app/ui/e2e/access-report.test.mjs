// #14's access report in a real browser against the real processes: a therapist opens a
// citizen's course and its history on her laptop while it is offline (the server is stopped),
// syncs when it is back, and the administrator makes that citizen's access report on hers:
// the therapist's look-ups are listed with her name and role, the tablet that received the
// course in a sync, and the report's own look-up; it prints on A4 (the browser's PDF).
//
// Screenshot: docs/screenshots/access-report.png; the report: docs/access-report-example.pdf
// (its pages as PNG in $TMPDIR/homerehab-access-report/, not committed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';
import { PASSWORD } from './harness.mjs';

const tmp = mkdtempSync(path.join(tmpdir(), 'homerehab-e2e-access-'));
const serverDir = path.join(tmp, 'server');
let server, browser;
const apps = {};
const ports = {};

before(async () => {
  mkdirSync(h.shots, { recursive: true });
  for (const k of ['server', 'therapist', 'tablet', 'admin']) ports[k] = await h.freePort();
  execFileSync(h.bin('sync-server'), ['--data-dir', serverDir, 'seed-demo'], { stdio: 'ignore' });
  server = await h.startServer(serverDir, ports.server);
  const url = `http://127.0.0.1:${ports.server}`;
  for (const k of ['therapist', 'tablet', 'admin']) apps[k] = await h.startApp(path.join(tmp, k), url, ports[k]);
  browser = await h.launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of Object.values(apps)) await h.stop(p);
  await h.stop(server);
  rmSync(tmp, { recursive: true, force: true });
});

const api = (port, p, body) =>
  fetch(`http://127.0.0.1:${port}/api${p}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('a course opened offline is in the citizen access report the admin prints', async () => {
  for (const [k, user] of [['therapist', 'terapeut1'], ['tablet', 'assistent1']]) {
    assert.equal((await api(ports[k], '/login', { username: user, password: PASSWORD })).status, 200);
    assert.equal((await api(ports[k], '/sync', {})).status, 200);
  }
  const caseload = await (await api(ports.therapist, '/caseload')).json();
  const row = caseload.find((r) => r.citizen_name);
  assert.ok(row, 'a course with its citizen');

  // Offline: the server is stopped while the therapist opens the course and its history.
  await h.stop(server);
  assert.equal((await api(ports.therapist, `/courses/${row.course_id}`)).status, 200);
  assert.equal((await api(ports.therapist, `/courses/${row.course_id}/history`)).status, 200);
  server = await h.startServer(serverDir, ports.server);
  assert.equal((await api(ports.therapist, '/sync', {})).status, 200);

  const page = await h.openPage(browser, 1280, 900);
  await h.signIn(page, ports.admin, 'admin', '2468');
  await page.getByTestId('tab-access-report').click();
  await page.getByTestId('access-citizen').locator(`option[value="${row.citizen_id}"]`).waitFor({ state: 'attached' });
  await page.getByTestId('access-citizen').selectOption(row.citizen_id);
  // The server's read model catches up off the sync's path: ask until it knows the citizen.
  for (let i = 0; ; i++) {
    await page.getByTestId('make-access-report').click();
    const done = await Promise.race([
      page.getByTestId('access-report').waitFor({ timeout: 3000 }).then(() => true),
      page.locator('.access-report .error').waitFor({ timeout: 3000 }).then(() => false),
    ]).catch(() => false);
    if (done) break;
    assert.ok(i < 10, 'the report never came');
    await new Promise((r) => setTimeout(r, 500));
  }
  const head = await page.getByTestId('access-report').locator('.report-whose').innerText();
  assert.equal(head, row.citizen_name, 'the citizen named from the admin device roster');
  assert.match(await page.getByTestId('access-made').innerText(), /^Lavet \d\d-\d\d-\d{4} \d\d:\d\d af Søren Vestergaard/);
  const lines = await page.getByTestId('access-line').allInnerTexts();
  const has = (...parts) => lines.some((l) => parts.every((p) => l.includes(p)));
  assert.ok(has('Mette Kjær', 'Terapeut', 'Forløb åbnet', 'Hjemmetræning (besøg)'), lines.join('\n'));
  assert.ok(has('Mette Kjær', 'Terapeut', 'Historik åbnet', 'Opfølgning på forløbet'), lines.join('\n'));
  assert.ok(has('Lone Mikkelsen', 'Træningsassistent', 'Forløb overført til enhed'), lines.join('\n'));
  assert.ok(has('Søren Vestergaard', 'Administrator', 'Adgangsrapport'), lines.join('\n'));
  const csv = await page.getByTestId('access-csv').getAttribute('href');
  assert.match(decodeURIComponent(csv), /^data:text\/csv;charset=utf-8,\ufeffLøbenummer;/);
  await page.screenshot({ path: path.join(h.shots, 'access-report.png'), fullPage: true });

  const pdf = path.join(h.repo, 'docs/access-report-example.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  assert.ok(statSync(pdf).size > 10000, 'a PDF was written');
  const pages = path.join(tmpdir(), 'homerehab-access-report');
  rmSync(pages, { recursive: true, force: true });
  mkdirSync(pages, { recursive: true });
  execFileSync('pdftoppm', ['-png', '-r', '60', pdf, path.join(pages, 'page')]);
  assert.ok(readdirSync(pages).length >= 1, 'the PDF has pages');
});
