// The vDC updating this host's system (system-update.ts) on a directory laid out as an appliance
// root, with bundles made by the build's script: a good one is written into the inactive slot and
// armed (where the image's quantix-update reboots); a bundle signed by another key, a truncated
// one, a live system, no appliance, a slot on trial, the running version and an older one (unless
// the header allows a downgrade) are refused, leaving no file behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpdateSystemRequest } from '@quantix/proto/v1/host.js';
import {
  type ApplianceRoot,
  keyPair,
  makeApplianceRoot,
  makeTestBundle,
} from '@quantix/proto/appliance/appliance-fixture.js';
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import { loadAgentConfig, type AgentConfig } from '../config.js';
import { applianceSystem } from './host-info.js';
import { updateSystem } from './system-update.js';

/** The client stream: a header of `size` bytes, then `bytes` in chunks. */
async function* stream(bytes: Buffer, size = bytes.length, allowDowngrade = false): AsyncIterable<UpdateSystemRequest> {
  yield { msg: { $case: 'header', value: { sizeBytes: size, allowDowngrade } } };
  for (let at = 0; at < bytes.length; at += 4096)
    yield { msg: { $case: 'data', value: bytes.subarray(at, at + 4096) } };
}

describe('system update of an appliance host', () => {
  const hostKey = keyPair();
  let dir: string;
  let good: Buffer;
  let appliance: ApplianceRoot;
  let config: AgentConfig;
  const slotB = () => join(appliance.root, 'run/live/medium/slot-b/live');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qxt-agent-sysupd-'));
    good = await readFile(await makeTestBundle(dir, 'good', hostKey.privatePem, '1.1.0'));
    appliance = await makeApplianceRoot(join(dir, 'root'), { version: '1.0.0', publicKeyPem: hostKey.publicPem });
    config = loadAgentConfig({ QX_AGENT_DATA_DIR: join(dir, 'data'), QX_APPLIANCE_ROOT: appliance.root });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function assertRefused(bytes: Buffer, message: RegExp, size?: number, messages = stream(bytes, size)) {
    await assert.rejects(updateSystem(config, messages, 300), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FAILED_PRECONDITION');
      assert.match(err.message, message);
      return true;
    });
    assert.deepEqual(existsSync(config.updateDir) ? await readdir(config.updateDir) : [], [], 'no bundle left');
    assert.equal(existsSync(slotB()), false, 'no slot written');
    assert.deepEqual(await appliance.calls(), [], 'quantix-update never ran');
  }

  it('refuses a bundle signed by another key (a compromised server), leaving nothing', async () => {
    const forged = await readFile(await makeTestBundle(dir, 'forged', keyPair().privatePem, '1.1.0'));
    await assertRefused(forged, /bad signature/);
  });

  it('refuses a truncated bundle, whether the stream or the file is short', async () => {
    await assertRefused(good.subarray(0, 3000), /truncated \(3000 of \d+ bytes arrived\)/, good.length);
    await assertRefused(good.subarray(0, 3000), /update bundle: truncated/);
  });

  it('gives up on a sender that stops sending', async () => {
    async function* stalls(): AsyncIterable<UpdateSystemRequest> {
      yield* stream(good.subarray(0, 8192), good.length);
      await new Promise((r) => setTimeout(r, 5_000).unref());
    }
    await assertRefused(good, /nothing arrived for 0\.3 s/, undefined, stalls());
  });

  it('refuses a live system, no appliance and a slot on trial before storing a byte', async () => {
    await appliance.setInstalled(false);
    assert.match((await applianceSystem(config)).updateBlocker, /installed system/);
    await assertRefused(good, /cannot be updated: updates need an installed system/);
    const plain = { ...config, applianceRoot: undefined };
    assert.deepEqual(await applianceSystem(plain), {
      installed: false,
      version: BUILD_VERSION,
      slot: '',
      goodSlot: '',
      updateBlocker: 'this host is not a Quantix-vDC appliance',
    });
    await assert.rejects(updateSystem(plain, stream(good)), /not a Quantix-vDC appliance/);
    await appliance.setInstalled(true, 'b');
    await assertRefused(good, /slot a is still on trial/);
    await appliance.setInstalled(true);
  });

  it('refuses the running version, and an older one unless the header allows a downgrade', async () => {
    const same = await readFile(await makeTestBundle(dir, 'same', hostKey.privatePem, '1.0.0'));
    await assertRefused(same, /^this host already runs 1\.0\.0$/);
    await assertRefused(same, /^this host already runs 1\.0\.0$/, undefined, stream(same, same.length, true));
    const older = await readFile(await makeTestBundle(dir, 'older', hostKey.privatePem, '1.0.0-rc.1'));
    await assertRefused(older, /version 1\.0\.0-rc\.1 is older than 1\.0\.0, which this host runs/);
    assert.deepEqual(await updateSystem(config, stream(older, older.length, true)), {
      slot: 'b',
      version: '1.0.0-rc.1',
    });
    const calls = (await appliance.calls()).map((c) => c.replace(/^\d+ /, ''));
    assert.deepEqual(calls, ['prepare', 'arm b 1.0.0 1.0.0-rc.1'], 'an allowed downgrade');
    for (const f of ['run/live/medium/slot-b', 'quantix-update.calls', 'next-release'])
      await rm(join(appliance.root, f), { recursive: true });
  });

  it('writes a good bundle into the inactive slot and arms it, which reboots the host', async () => {
    assert.deepEqual(await applianceSystem(config), {
      installed: true,
      version: '1.0.0',
      slot: 'a',
      goodSlot: 'a',
      updateBlocker: '',
    });
    assert.deepEqual(await updateSystem(config, stream(good)), { slot: 'b', version: '1.1.0' });
    assert.deepEqual((await readdir(slotB())).sort(), [
      '00-base.squashfs',
      'filesystem.module',
      'initrd.img',
      'quantix-release',
      'vmlinuz',
    ]);
    assert.equal(await readFile(join(slotB(), 'vmlinuz'), 'utf8'), 'vmlinuz of 1.1.0');
    assert.match(await readFile(join(slotB(), 'quantix-release'), 'utf8'), /^QUANTIX_VERSION=1\.1\.0$/m);
    const calls = (await appliance.calls()).map((c) => c.replace(/^\d+ /, ''));
    assert.deepEqual(calls, ['prepare', 'arm b 1.0.0 1.1.0']);
    assert.deepEqual(await readdir(config.updateDir), [], 'the received bundle is removed once installed');
  });
});
