import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleLogPath, readConsoleTail, removeConsoleLog } from './console-log.js';

const uuid = '0b8a3c1e-1111-4222-8333-944455556666';

test('serial logs live in libvirt log directory of the connection', () => {
  assert.equal(consoleLogPath('qemu:///system', uuid), `/var/log/libvirt/qemu/qx-${uuid}-serial0.log`);
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = '/home/op/.cache';
  try {
    assert.equal(consoleLogPath('qemu:///session', uuid), `/home/op/.cache/libvirt/qemu/log/qx-${uuid}-serial0.log`);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});

test('the replayed tail is the end of the log, from a whole line; a short log comes whole; no log, nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-console-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'serial.log');
  assert.equal(readConsoleTail(log).length, 0);

  await writeFile(log, 'partial line without newline');
  assert.equal(readConsoleTail(log, 1024).toString(), 'partial line without newline');

  const lines = Array.from({ length: 100 }, (_, i) => `boot line ${String(i).padStart(3, '0')}\r\n`);
  await writeFile(log, lines.join(''));
  const tail = readConsoleTail(log, 200).toString();
  assert.ok(tail.length <= 200 && tail.length > 150, `about 200 bytes, got ${tail.length}`);
  assert.ok(tail.startsWith('boot line '), `starts at a line: ${JSON.stringify(tail.slice(0, 20))}`);
  assert.ok(tail.endsWith('boot line 099\r\n'));
  // One line longer than the window: nothing rather than half a line.
  await writeFile(log, `${'x'.repeat(500)}\r\n`);
  assert.equal(readConsoleTail(log, 100).length, 0);
});

test('removing a log also removes the rotated copies, and nothing else', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-console-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, `qx-${uuid}-serial0.log`);
  for (const f of [log, `${log}.0`, `${log}.1`, `${log}.2`, join(dir, 'other-vm.log')]) await writeFile(f, 'x');
  await removeConsoleLog(log);
  assert.deepEqual(await readdir(dir), ['other-vm.log']);
  await removeConsoleLog(log); // already gone: no error
  assert.equal(existsSync(log), false);
});
