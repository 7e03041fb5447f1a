// The two layers against hostile images, each on its own: qemu-img info judged (pure, on captured
// JSON) and the bubblewrap sandbox (real qemu-img), shown to block what plain qemu-img reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectDisk, judgeImageInfo } from './disk-inspect.js';
import { convertDisk } from './disk-convert.js';

const SECRET = 'QXT-OVA-INSPECT-SECRET-55aa';
let dir = '';
let secretFile = '';

function descriptor(target: string): string {
  return `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 1 FLAT "${target}" 0\n`;
}

function kdmv(target: string): Buffer {
  const h = Buffer.alloc(512);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(3, 8);
  h.writeBigUInt64LE(128n, 20);
  h.writeBigUInt64LE(1n, 28);
  h.writeBigUInt64LE(20n, 36);
  const d = Buffer.alloc(20 * 512);
  d.write(descriptor(target));
  return Buffer.concat([h, d]);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qxt-ova-inspect-'));
  secretFile = join(dir, 'secret.txt');
  await writeFile(secretFile, SECRET.repeat(16));
  await writeFile(join(dir, 'text.vmdk'), descriptor(secretFile));
  await writeFile(join(dir, 'kdmv.vmdk'), kdmv(secretFile));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secretFile, '-F', 'raw', join(dir, 'backed.qcow2'), '1M']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', join(dir, 'good.vmdk'), '4M']);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('plain qemu-img follows a KDMV embedded descriptor to a host file (why the sandbox exists)', async () => {
  const out = join(dir, 'leak.raw');
  execFileSync('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', join(dir, 'kdmv.vmdk'), out]);
  assert.ok((await readFile(out)).toString('latin1').includes(SECRET));
  await rm(out);
});

for (const [file, format] of [['text.vmdk', 'vmdk'], ['kdmv.vmdk', 'vmdk'], ['backed.qcow2', 'qcow2']] as const) {
  test(`sandboxed qemu-img info refuses ${file}; sandboxed convert cannot read the host file either`, async () => {
    await assert.rejects(inspectDisk(join(dir, file), format, file), (err: Error) => {
      assert.match(err.message, new RegExp(`disk "${file.replace('.', '\\.')}" is not a safe image`));
      assert.ok(!err.message.includes(SECRET));
      return true;
    });
    const outDir = await mkdtemp(join(dir, 'out-'));
    await assert.rejects(convertDisk({ input: join(dir, file), inputFormat: format, output: join(outDir, 'x.qcow2'), outputFormat: 'qcow2' }));
    assert.deepEqual(await readdir(outDir), []);
  });
}

test('a self-contained streamOptimized VMDK passes and converts with progress', async () => {
  const info = await inspectDisk(join(dir, 'good.vmdk'), 'vmdk', 'good.vmdk');
  assert.deepEqual(info, { format: 'vmdk', virtualSize: 4 * 2 ** 20 });
  const seen: number[] = [];
  const outDir = await mkdtemp(join(dir, 'out-'));
  await convertDisk({ input: join(dir, 'good.vmdk'), inputFormat: 'vmdk', output: join(outDir, 'g.qcow2'), outputFormat: 'qcow2', onPercent: (p) => seen.push(p) });
  assert.equal(seen.at(-1), 100);
  await assert.rejects(inspectDisk(join(dir, 'good.vmdk'), 'qcow2', 'good.vmdk'), /not a safe image/);
});

test('in place inside a tar (offset/size slice): a hostile KDMV is refused, a good VMDK passes', async () => {
  const good = await readFile(join(dir, 'good.vmdk'));
  const bad = kdmv(secretFile);
  const tar = Buffer.concat([Buffer.alloc(1024, 1), bad, Buffer.alloc(512 - (bad.length % 512 || 512)), good]);
  const file = join(dir, 'x.ova');
  await writeFile(file, tar);
  await assert.rejects(inspectDisk(file, 'vmdk', 'bad.vmdk', { offset: 1024, size: bad.length }), (err: Error) => {
    assert.match(err.message, /not a safe image/);
    assert.ok(!err.message.includes(SECRET));
    return true;
  });
  const goodOffset = tar.length - good.length;
  assert.deepEqual(await inspectDisk(file, 'vmdk', 'good.vmdk', { offset: goodOffset, size: good.length }), { format: 'vmdk', virtualSize: 4 * 2 ** 20 });
  await assert.rejects(inspectDisk(file, 'vmdk', 'good.vmdk', { offset: goodOffset, size: good.length - 512 }), /not a safe image/);
});

test('judgeImageInfo (captured qemu-img 7.2 JSON): extents elsewhere, wrong create-type, backing, data file', () => {
  const vmdk = (createType: string, extent: string) =>
    JSON.stringify({ 'virtual-size': 512, filename: '/in/d', format: 'vmdk', 'format-specific': { type: 'vmdk', data: { 'create-type': createType, extents: [{ filename: extent, format: 'FLAT' }] } } });
  assert.throws(() => judgeImageInfo(vmdk('monolithicFlat', '/tmp/x'), 'vmdk', '/in/d', 'd'), /create-type "monolithicFlat"/);
  assert.throws(() => judgeImageInfo(vmdk('streamOptimized', '/etc/passwd'), 'vmdk', '/in/d', 'd'), /extent refers to another file/);
  assert.deepEqual(judgeImageInfo(vmdk('streamOptimized', '/in/d'), 'vmdk', '/in/d', 'd'), { format: 'vmdk', virtualSize: 512 });
  const q = (extra: object) => JSON.stringify({ 'virtual-size': 1048576, format: 'qcow2', ...extra });
  assert.throws(() => judgeImageInfo(q({ 'backing-filename': '/etc/shadow' }), 'qcow2', '/in/d', 'd'), /backing file/);
  assert.throws(() => judgeImageInfo(q({ 'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/sda' } } }), 'qcow2', '/in/d', 'd'), /external data file/);
  assert.throws(() => judgeImageInfo('not json', 'raw', '/in/d', 'd'), /not JSON/);
  const raw = (o: number, f: string) => `json:{"offset": ${o}, "driver": "raw", "size": 100, "file": {"driver": "file", "filename": "${f}"}}`;
  const slice = { offset: 5120, size: 100 };
  assert.deepEqual(judgeImageInfo(vmdk('streamOptimized', raw(5120, '/in/j.ova')), 'vmdk', '/in/j.ova', 'd', slice), { format: 'vmdk', virtualSize: 512 });
  assert.throws(() => judgeImageInfo(vmdk('streamOptimized', raw(0, '/in/j.ova')), 'vmdk', '/in/j.ova', 'd', slice), /extent refers to another file/);
  assert.throws(() => judgeImageInfo(vmdk('streamOptimized', raw(5120, '/etc/passwd')), 'vmdk', '/in/j.ova', 'd', slice), /extent refers to another file/);
  assert.throws(() => judgeImageInfo(vmdk('streamOptimized', '/in/j.ova'), 'vmdk', '/in/j.ova', 'd', slice), /extent refers to another file/);
});
