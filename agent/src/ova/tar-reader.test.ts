import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, checkEntryName, type TarLimits } from './tar-reader.js';

async function* chunksOf(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function list(buf: Buffer, limits?: TarLimits, chunk = 777): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of readTar(chunksOf(buf, chunk), limits)) {
    const parts: Buffer[] = [];
    for await (const c of e.chunks()) parts.push(c);
    out.push([e.name, Buffer.concat(parts).toString()]);
  }
  return out;
}

function gnuTar(format: string, files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'qxt-ova-tar-'));
  try {
    for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
    execFileSync('tar', [`--format=${format}`, '-cf', join(dir, 'x.tar'), '-C', dir, ...Object.keys(files)]);
    return readFileSync(join(dir, 'x.tar'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reads GNU, pax and ustar archives written by tar, long names included, in any chunking', async () => {
  const long = `${'n'.repeat(150)}.vmdk`;
  for (const format of ['gnu', 'pax']) {
    const tar = gnuTar(format, { 'a.ovf': '<Envelope/>', [long]: 'disk', 'empty.mf': '' });
    for (const chunk of [1, 512, 777, 1 << 20]) {
      assert.deepEqual(
        await list(tar, undefined, chunk),
        [
          ['a.ovf', '<Envelope/>'],
          [long, 'disk'],
          ['empty.mf', ''],
        ],
        `${format}/${chunk}`,
      );
    }
  }
});

test('entry data offsets point into the tar (for reading a disk in place)', async () => {
  const tar = gnuTar('ustar', { 'a.ovf': 'x', 'b.vmdk': 'hello' });
  const offsets: [string, number, number][] = [];
  for await (const e of readTar(chunksOf(tar, 100))) offsets.push([e.name, e.offset, e.size]);
  const [, off, size] = offsets[1]!;
  assert.equal(tar.subarray(off, off + size).toString(), 'hello');
});

test('limits: entry count and total size', async () => {
  const tar = gnuTar('ustar', { a: '1234', b: '5678' });
  await assert.rejects(list(tar, { maxEntries: 1, maxTotalBytes: 100 }), /more than 1 entries/);
  await assert.rejects(list(tar, { maxEntries: 10, maxTotalBytes: 6 }), /exceed 6 bytes/);
});

test('entry names: ./ stripped; absolute, traversal, control characters refused', () => {
  assert.equal(checkEntryName('./a.ovf'), 'a.ovf');
  assert.throws(() => checkEntryName('/etc/passwd'), /absolute path/);
  assert.throws(() => checkEntryName('C:\\x'), /absolute path/);
  assert.throws(() => checkEntryName('a/../../b'), /path traversal/);
  assert.throws(() => checkEntryName('..\\b'), /path traversal/);
  assert.throws(() => checkEntryName('a\nb'), /control characters/);
  assert.throws(() => checkEntryName('./'), /empty entry name/);
});
