// Update bundles made by the build's own script (build/iso/make-bundle.mjs) and checked by the
// server: a good one verifies and lands in a slot; a bad signature, a truncated file, a part whose
// bytes differ or another product's bundle are refused and nothing is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { verifyBundle, writeSlot } from './update-bundle.js';

const makeBundle = resolve(import.meta.dirname, '../../../build/iso/make-bundle.mjs');
const run = promisify(execFile);

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

describe('update bundle', () => {
  let dir: string;
  let parts: string[];
  const key = keyPair();
  const otherKey = keyPair();

  async function bundle(name: string, opts: { key?: string; product?: string } = {}): Promise<string> {
    const keyFile = join(dir, `${name}.key.pem`);
    await writeFile(keyFile, opts.key ?? key.privatePem);
    const out = join(dir, `${name}.qxu`);
    const extra = opts.product ? ['--product', opts.product] : [];
    await run(process.execPath, [makeBundle, '--key', keyFile, '--version', '9.9.9', '--out', out, ...extra, ...parts]);
    return out;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qx-bundle-test-'));
    const src = join(dir, 'src');
    await mkdir(src);
    const contents: Record<string, Buffer> = {
      vmlinuz: Buffer.alloc(3000, 1),
      'initrd.img': Buffer.alloc(1000, 2),
      '00-base.squashfs': Buffer.alloc(70_000, 3),
      '10-app.squashfs': Buffer.from('app layer'),
      'filesystem.module': Buffer.from('00-base.squashfs\n10-app.squashfs\n'),
    };
    parts = [];
    for (const [name, data] of Object.entries(contents)) {
      await writeFile(join(src, name), data);
      parts.push(join(src, name));
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('verifies a signed bundle and writes its parts into a slot, replacing what was there', async () => {
    const file = await bundle('good');
    const verified = await verifyBundle(file, key.publicPem);
    assert.equal(verified.manifest.version, '9.9.9');
    assert.deepEqual(
      verified.manifest.parts.map((p) => p.name),
      ['vmlinuz', 'initrd.img', '00-base.squashfs', '10-app.squashfs', 'filesystem.module'],
    );
    const slot = join(dir, 'root', 'slot-b', 'live');
    await mkdir(slot, { recursive: true });
    await writeFile(join(slot, 'stale.squashfs'), 'old');
    await writeSlot(file, verified, slot);
    assert.deepEqual((await readdir(slot)).sort(), verified.manifest.parts.map((p) => p.name).sort());
    for (const p of parts) assert.deepEqual(await readFile(join(slot, p.split('/').pop()!)), await readFile(p));
    assert.deepEqual(await readdir(join(dir, 'root', 'slot-b')), ['live']);
  });

  async function assertRefused(file: string, message: RegExp, publicPem = key.publicPem) {
    const slot = join(dir, 'never', 'live');
    await assert.rejects(
      async () => writeSlot(file, await verifyBundle(file, publicPem), slot),
      (err: Error & { status?: number }) => {
        assert.match(err.message, message);
        assert.equal(err.status, 422);
        return true;
      },
    );
    assert.equal(existsSync(join(dir, 'never')), false);
  }

  it('refuses a bundle signed with another key', async () => {
    await assertRefused(await bundle('other-key', { key: otherKey.privatePem }), /bad signature/);
  });

  it('refuses a truncated bundle', async () => {
    const file = await bundle('truncated');
    await truncate(file, (await stat(file)).size - 40_000);
    await assertRefused(file, /truncated/);
    await truncate(file, 700);
    await assertRefused(file, /truncated/);
  });

  it('refuses a bundle whose part differs from the manifest', async () => {
    const file = await bundle('tampered');
    const verified = await verifyBundle(file, key.publicPem);
    const base = verified.parts.find((p) => p.name === '00-base.squashfs')!;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, base.offset + 1234);
    await fh.close();
    await assertRefused(file, /"00-base\.squashfs": sha256 differs/);
  });

  it('refuses a bundle for another product', async () => {
    await assertRefused(await bundle('other-product', { product: 'other-appliance' }), /for "other-appliance"/);
  });

  it('leaves the old slot when a part changes between verification and writing', async () => {
    const file = await bundle('changed');
    const verified = await verifyBundle(file, key.publicPem);
    const slot = join(dir, 'root2', 'slot-a', 'live');
    await mkdir(slot, { recursive: true });
    await writeFile(join(slot, 'vmlinuz'), 'old kernel');
    const app = verified.parts.find((p) => p.name === '10-app.squashfs')!;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('X'), 0, 1, app.offset);
    await fh.close();
    await assert.rejects(writeSlot(file, verified, slot), /"10-app\.squashfs" changed since it was verified/);
    assert.deepEqual(await readdir(join(dir, 'root2', 'slot-a')), ['live']);
    assert.equal(await readFile(join(slot, 'vmlinuz'), 'utf8'), 'old kernel');
  });
});
