// A local backup copy that fails part-way (whole-disk-copy.ts, workers.ts): the checksum pass of a
// disk already copied runs alongside the next copy, and must have stopped, its file closed, before
// the failure is reported. Otherwise the failed backup's temp dir is removed under a reader: on an
// NFS target the open file stays behind as .nfsXXXX and the next backup could not remove the dir
// (the appliance's NFS test met it: "ENOTEMPTY ... rmdir .tmp-…").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupTarget } from './backup-target.js';
import { copyWholeDisks } from './whole-disk-copy.js';
import { allOrNone, TaskGroup } from './workers.js';

const MIB = 2 ** 20;

/** Paths this process (any of its threads) has open under `dir`. */
async function openUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const paths = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return paths.filter((p) => p.startsWith(dir));
}

test('a failed copy is reported once the checksum pass of the disk before it has closed its file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qx-whole-copy-'));
  try {
    const src = join(dir, 'src');
    await mkdir(src);
    // Enough data that hashing its copy outlasts the next copy's failure by far.
    const big = join(src, 'big.raw');
    const fh = await open(big, 'wx');
    const block = Buffer.alloc(64 * MIB, 0x5a);
    for (let i = 0; i < 12; i++) await fh.write(block, 0, block.length, i * block.length);
    await fh.close();
    const out = join(dir, 'backup');
    await mkdir(out);
    const target = { localPath: (file: string) => join(out, file) } as Partial<BackupTarget> as BackupTarget;
    const copying = copyWholeDisks(
      [
        { dev: 'vda', file: big, format: 'raw', frozen: false },
        { dev: 'vdb', file: join(src, 'missing.raw'), format: 'raw', frozen: false },
      ],
      'test',
      target,
      () => undefined,
      new AbortController().signal,
    );
    await assert.rejects(copying, /missing\.raw/);
    // Nothing may open them afterwards either (a pass's threads may still have been starting).
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await openUnder(out), [], 'no file of the failed backup is open once it failed');
      await new Promise((r) => setTimeout(r, 50));
    }
    // And what is left is removable at once.
    await rm(out, { recursive: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a task group reports its first failure once every task has stopped, and aborts the others', async () => {
  const events: string[] = [];
  const slow = (signal: AbortSignal) =>
    new Promise<string>((_, reject) =>
      signal.addEventListener('abort', () =>
        setTimeout(() => {
          events.push('slow stopped');
          reject(new Error('aborted'));
        }, 50),
      ),
    );
  const failing = async () => {
    await new Promise((r) => setTimeout(r, 10));
    events.push('failed');
    throw new Error('disk full');
  };
  await assert.rejects(allOrNone(new AbortController().signal, [slow, failing]), /disk full/);
  assert.deepEqual(events, ['failed', 'slow stopped']);

  // A cancel from outside stops a group whose tasks were added over time.
  const cancel = new AbortController();
  const group = new TaskGroup<string>(cancel.signal);
  group.add(Promise.resolve('done'));
  group.add(slow(group.signal));
  cancel.abort(new Error('cancelled'));
  await assert.rejects(group.settled(), /cancelled/);

  const ok = new TaskGroup<number>(new AbortController().signal);
  ok.add(Promise.resolve(1));
  ok.add(new Promise((r) => setTimeout(() => r(2), 10)));
  assert.deepEqual(await ok.settled(), [1, 2]);
});
