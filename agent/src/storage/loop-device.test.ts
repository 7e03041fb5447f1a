// Loop devices on the real kernel: a detach is done when the device is detached already (a busy
// device marked for auto-clear clears on its own, and a second detach used to fail with ENXIO);
// a device that does not exist is still an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopAttach, loopDetach, loopFind } from './loop-device.js';

test('detaching a loop device twice: the second is done, not an error; an unknown device is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-loopdev-'));
  const file = join(dir, 'backing.img');
  t.after(async () => {
    for (const d of await loopFind(file)) await loopDetach(d); // only devices still on this file
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(file, '');
  await truncate(file, 8 * 2 ** 20);
  const device = await loopAttach(file);
  assert.deepEqual(await loopFind(file), [device]);
  await loopDetach(device);
  await loopDetach(device);
  assert.deepEqual(await loopFind(file), []);
  await assert.rejects(loopDetach('/dev/loop-qxt-none'));
});
