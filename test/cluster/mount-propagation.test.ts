// Host B's mount namespace (two-hosts.ts) must not pin filesystems of this host: make test runs the
// two-hosts test beside storage tests whose loop pools were mounted when B started, and their
// unmount left the loop device busy for as long as B ran (a fresh-clone run failed so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { HOLDER_ARGV } from './two-hosts.js';

test('a filesystem unmounted here is released although host B holds a mount namespace made while it was mounted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-mntprop-'));
  const image = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  await run('truncate', ['-s', '16M', image]);
  await run('mkfs.ext4', ['-q', image]);
  await run('mkdir', [mnt]);
  const device = (await run('losetup', ['--find', '--show', image])).stdout.trim();
  t.after(async () => {
    await run('umount', [mnt]).catch(() => undefined);
    await run('losetup', ['-d', device]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('mount', [device, mnt]);
  const [cmd, ...args] = HOLDER_ARGV;
  const holder = spawn(cmd!, args, { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  // The holder has its namespace once its mount namespace differs from ours.
  const mine = (await run('readlink', ['/proc/self/ns/mnt'])).stdout;
  for (let i = 0; i < 200; i++) {
    const its = await run('readlink', [`/proc/${holder.pid}/ns/mnt`]).then(
      (r) => r.stdout,
      () => mine,
    );
    if (its !== mine && (await run('cat', [`/proc/${holder.pid}/comm`])).stdout.trim() === 'sleep') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await run('umount', [mnt]);
  // Open with O_EXCL fails (EBUSY) while any mount of the filesystem exists in any namespace.
  await (await open(device, constants.O_RDONLY | constants.O_EXCL)).close();
  assert.ok(true, 'released at once');
});
