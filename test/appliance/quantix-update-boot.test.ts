// The boot step of A/B updates (appliance/quantix-update boot, run before the server starts) on a
// tree laid out like an installed appliance: the first boot of the new slot backs the server's
// data up; when GRUB has fallen back to the old slot, the data from before the update comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../../server/src/test-support/spawn.js';

const SCRIPT = join(REPO, 'appliance/quantix-update');
const run = promisify(execFile);

test('quantix-update boot: trial boot backs the server data up, a fallback to the old slot restores it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-update-boot-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const grub = join(root, 'run/live/medium/boot/grub');
  const server = join(root, 'var/lib/quantix/server');
  const state = join(root, 'var/lib/quantix/update');
  await mkdir(grub, { recursive: true });
  await mkdir(server, { recursive: true });
  await mkdir(state, { recursive: true });
  await mkdir(join(root, 'proc'));
  await run('grub-editenv', [join(grub, 'grubenv'), 'create']);
  await run('grub-editenv', [join(grub, 'grubenv'), 'set', 'good_slot=a']);
  await writeFile(join(server, 'db.json'), '{"schema":1,"users":["admin","ops"]}');
  await writeFile(
    join(state, 'attempt.env'),
    'from_slot=a\nto_slot=b\nfrom_version=1.0.0\nto_version=1.1.0\nstarted=2026-12-05T07:00:00Z\nresult=pending\n',
  );
  const boot = async (slot: 'a' | 'b') => {
    await writeFile(
      join(root, 'proc/cmdline'),
      `boot=live live-media-path=/slot-${slot}/live quantix.slot=${slot} quiet\n`,
    );
    return (await run('bash', [SCRIPT, 'boot'], { env: { ...process.env, QX_UPDATE_ROOT: root } })).stdout;
  };
  const attempt = async () => readFile(join(state, 'attempt.env'), 'utf8');

  // The new version's first boot: the data is copied aside before its server starts.
  assert.match(await boot('b'), /trial boot of slot b: backing up/);
  assert.match(await attempt(), /^result=trying$/m);
  // The new server migrates its data, then fails its health check; GRUB boots slot a again.
  await writeFile(join(server, 'db.json'), '{"schema":2,"users":["admin","ops"],"new":true}');
  assert.match(await boot('a'), /rolled back to slot a: restoring/);
  assert.equal(await readFile(join(server, 'db.json'), 'utf8'), '{"schema":1,"users":["admin","ops"]}');
  assert.match(await attempt(), /^result=rolled-back$/m);
  assert.match(await attempt(), /^finished=\d{4}-\d\d-\d\dT/m);
  // This trial gave no health verdict (its health step records why it gives up): the fallback says so.
  assert.match(await attempt(), /^reason=slot b started but never reported on its health/m);

  // Later boots of the good slot leave the data alone.
  await writeFile(join(server, 'db.json'), '{"schema":1,"users":["admin","ops","later"]}');
  assert.equal(await boot('a'), '');
  assert.equal(await readFile(join(server, 'db.json'), 'utf8'), '{"schema":1,"users":["admin","ops","later"]}');
});

test('quantix-update boot: a fallback keeps the reason the trial recorded, and names a trial that never started', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-update-reason-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const grub = join(root, 'run/live/medium/boot/grub');
  const state = join(root, 'var/lib/quantix/update');
  await mkdir(grub, { recursive: true });
  await mkdir(state, { recursive: true });
  await mkdir(join(root, 'proc'));
  await run('grub-editenv', [join(grub, 'grubenv'), 'create']);
  await writeFile(join(root, 'proc/cmdline'), 'boot=live live-media-path=/slot-a/live quantix.slot=a quiet\n');
  const attempt = 'from_slot=a\nto_slot=b\nfrom_version=1.0.0\nto_version=1.1.0\nstarted=2026-12-05T07:00:00Z\n';
  const fallback = async (lines: string) => {
    await writeFile(join(state, 'attempt.env'), attempt + lines);
    await run('bash', [SCRIPT, 'boot'], { env: { ...process.env, QX_UPDATE_ROOT: root } });
    return readFile(join(state, 'attempt.env'), 'utf8');
  };
  const recorded = await fallback('result=trying\nreason=its server failed 5 times\n');
  assert.match(recorded, /^result=rolled-back$/m);
  assert.match(recorded, /^reason=its server failed 5 times$/m);
  // GRUB fell back before slot b's system ran at all (a kernel that did not boot, a power cut).
  assert.match(await fallback('result=pending\n'), /^reason=slot b never started: its boot stopped/m);
});

test('quantix-update: a live system (no quantix.slot) refuses to prepare an update', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-update-live-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'proc/cmdline'), 'boot=live components quiet\n');
  await assert.rejects(
    run('bash', [SCRIPT, 'prepare'], { env: { ...process.env, QX_UPDATE_ROOT: root } }),
    (err: Error & { stderr: string }) => /updates need an installed system/.test(err.stderr),
  );
  assert.equal((await run('bash', [SCRIPT, 'boot'], { env: { ...process.env, QX_UPDATE_ROOT: root } })).stdout, '');
});
