// The streaming VMDK decoder against qemu-img: streamOptimized images qemu-img wrote decode to the
// same content (`qemu-img compare`), whatever the chunking, into a raw file or straight into a qcow2
// through qemu-nbd, with holes kept; hostile streams (a grain
// beyond the capacity, a grain claiming more than a grain, corrupt zlib, cut inside a grain) are refused
// and other VMDK kinds are left to qemu-img.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { streamVmdkHeader, VmdkStreamDecoder } from './vmdk-stream.js';
import { rawFileTarget, type OpenRawTarget } from './raw-target.js';
import { qcow2Target } from './qcow2-target.js';

const MiB = 2 ** 20;

async function decode(
  vmdk: Buffer,
  out: string,
  chunk: number,
  target: (path: string) => OpenRawTarget = rawFileTarget,
): Promise<VmdkStreamDecoder> {
  const header = streamVmdkHeader(vmdk.subarray(0, 4096));
  assert.ok(header, 'a streamOptimized header');
  const d = new VmdkStreamDecoder(target(out), header, 'test.vmdk');
  async function* parts() {
    for (let i = 0; i < vmdk.length; i += chunk) yield vmdk.subarray(i, i + chunk);
  }
  await pipeline(Readable.from(parts()), d);
  return d;
}

test('streamOptimized VMDKs decode to what qemu-img reads, hostile streams refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-vmdk-stream-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // 40 MiB + 3 sectors: random runs, zeros, a last partial grain.
  const raw = join(dir, 'orig.raw');
  const size = 40 * MiB + 1536;
  const fd = openSync(raw, 'w');
  for (const at of [0, 5 * MiB + 4096, 17 * MiB - 700, size - 1536])
    writeSync(fd, randomBytes(at === 0 ? 3 * MiB : 1536), 0, undefined, at);
  closeSync(fd);
  execFileSync('truncate', ['-s', String(size), raw]);
  const vmdkPath = join(dir, 'disk.vmdk');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, vmdkPath]);
  const vmdk = await readFile(vmdkPath);

  for (const chunk of [1, 511, 65_536, 1_000_003]) {
    if (chunk === 1 && vmdk.length > 4 * MiB) continue;
    const out = join(dir, `out-${chunk}.raw`);
    await decode(chunk === 1 ? vmdk.subarray(0) : vmdk, out, chunk === 1 ? 4093 : chunk);
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', out, raw]);
    const st = await stat(out);
    assert.equal(st.size, size);
    assert.ok(st.blocks * 512 < 8 * MiB, `zeros stay holes (${st.blocks * 512} bytes allocated)`);
    await rm(out);
  }

  // Straight into a qcow2 (qemu-nbd in the sandbox): same content, zeros unallocated, no socket left.
  const nbdDirsBefore = (await readdir(tmpdir())).filter((n) => n.startsWith('qx-nbd-')).length;
  const qcow2 = join(dir, 'out.qcow2');
  await decode(vmdk, qcow2, 65_536, qcow2Target);
  execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', qcow2, raw]);
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', qcow2], { encoding: 'utf8' })) as {
    format: string;
    'virtual-size': number;
    'actual-size': number;
  };
  assert.equal(info.format, 'qcow2');
  assert.equal(info['virtual-size'], size);
  assert.ok(info['actual-size'] < 8 * MiB, `zeros stay unallocated (${info['actual-size']} bytes)`);
  const nbdDirsAfter = (await readdir(tmpdir())).filter((n) => n.startsWith('qx-nbd-')).length;
  assert.equal(nbdDirsAfter, nbdDirsBefore, 'the NBD socket directory is removed');

  // Other VMDK kinds go to qemu-img: monolithicSparse is not decoded here.
  const sparse = join(dir, 'sparse.vmdk');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, sparse]);
  assert.equal(streamVmdkHeader((await readFile(sparse)).subarray(0, 4096)), undefined);
  const huge = Buffer.from(vmdk.subarray(0, 512));
  huge.writeBigUInt64LE(1n << 20n, 20); // grain of 512 MiB
  assert.equal(streamVmdkHeader(huge), undefined);
  const vast = Buffer.from(vmdk.subarray(0, 512));
  vast.writeBigUInt64LE(1n << 40n, 12); // 512 TiB
  assert.equal(streamVmdkHeader(vast), undefined);

  // The first grain marker: where the header says data starts.
  const first = Number(vmdk.readBigUInt64LE(64)) * 512;
  const refused = async (what: string, bytes: Buffer, why: RegExp) => {
    const out = join(dir, `bad-${what}.raw`);
    await assert.rejects(decode(bytes, out, 65_536), why, what);
    await rm(out, { force: true });
  };
  const beyond = Buffer.from(vmdk);
  beyond.writeBigUInt64LE(1n << 40n, first);
  await refused('beyond', beyond, /beyond the capacity/);
  const greedy = Buffer.from(vmdk);
  greedy.writeUInt32LE(0xfff0_0000, first + 8);
  await refused('greedy', greedy, /compressed bytes/);
  const corrupt = Buffer.from(vmdk);
  corrupt.fill(0x55, first + 12, first + 40);
  await refused('corrupt', corrupt, /grain at sector 0/);
  await refused('truncated', vmdk.subarray(0, first + 112), /ends inside a grain/);
  // Refused while writing into a qcow2: qemu-nbd is stopped and the partial image removed.
  const badQcow2 = join(dir, 'bad.qcow2');
  await assert.rejects(decode(corrupt, badQcow2, 65_536, qcow2Target), /grain at sector 0/);
  await assert.rejects(access(badQcow2), 'the partial qcow2 is removed');
  await writeFile(join(dir, 'done'), '');
});
