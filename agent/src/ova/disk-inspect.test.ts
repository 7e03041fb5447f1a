// The two layers against hostile images, each on its own: qemu-img info judged (pure, on captured
// JSON) and the bubblewrap sandbox (real qemu-img), shown to block what plain qemu-img reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectBackingChain, inspectDisk, judgeBackingChain, judgeImageInfo, type VolumeChainTarget } from './disk-inspect.js';
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

test('judgeBackingChain (captured qemu-img 7.2 --backing-chain JSON): in the pool passes, elsewhere is named', () => {
  const top = { filename: '/p/ok2.qcow2', format: 'qcow2', 'virtual-size': 1048576, 'backing-filename': 'ok.qcow2', 'full-backing-filename': '/p/ok.qcow2', 'backing-filename-format': 'qcow2' };
  const mid = { filename: '/p/ok.qcow2', format: 'qcow2', 'virtual-size': 1048576, 'backing-filename': 'base.raw', 'full-backing-filename': '/p/base.raw', 'backing-filename-format': 'raw' };
  const base = { filename: '/p/base.raw', format: 'raw', 'virtual-size': 1048576 };
  const target: VolumeChainTarget = { path: '/p/ok2.qcow2', format: 'qcow2', dir: '/p', label: 'volume p/ok2.qcow2' };
  const judge = (chain: object[], t = target) => judgeBackingChain(JSON.stringify(chain), t);
  assert.deepEqual(judge([top, mid, base]), { format: 'qcow2', virtualSize: 1048576, backingFile: '/p/ok.qcow2' });
  assert.deepEqual(judge([base], { ...target, path: '/p/base.raw', format: 'raw' }), { format: 'raw', virtualSize: 1048576 });
  const outside = { ...mid, 'backing-filename': '/var/lib/quantix/server/quantix.db.json', 'full-backing-filename': '/var/lib/quantix/server/quantix.db.json' };
  assert.throws(() => judge([top, outside, { ...base, filename: '/var/lib/quantix/server/quantix.db.json' }]), /^AgentError: volume p\/ok2\.qcow2: its backing file \/var\/lib\/quantix\/server\/quantix\.db\.json lies outside \/p/);
  assert.throws(() => judge([{ ...top, 'full-backing-filename': '/p/sub/x', 'backing-filename': 'sub/x' }]), /backing file \/p\/sub\/x lies outside \/p/);
  assert.throws(() => judge([{ ...top, 'backing-filename': 'json:{"driver":"file","filename":"/etc/shadow"}', 'full-backing-filename': undefined }]), /lies outside/);
  assert.throws(() => judge([top, mid, { ...base, format: 'vmdk' }]), /backing file \/p\/base\.raw is vmdk, not qcow2 or raw/);
  assert.throws(() => judge([top, { ...mid, 'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/sda' } } }, base]), /backing file \/p\/ok\.qcow2: it has an external data file/);
  assert.throws(() => judge([top, base]), /opened \/p\/base\.raw where \/p\/ok\.qcow2 was expected/);
  assert.throws(() => judge([top, mid, base], { ...target, dir: undefined }), /backing file \/p\/ok\.qcow2 lies outside the volume/);
  assert.throws(() => judge([]), /no backing chain/);
});

test('inspectBackingChain: a chain leaving the directory cannot even be opened in the sandbox', async () => {
  const pool = await mkdtemp(join(dir, 'pool-'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(pool, 'base.qcow2'), '1M']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(pool, 'linked.qcow2')]);
  assert.deepEqual(await inspectBackingChain({ path: join(pool, 'linked.qcow2'), format: 'qcow2', dir: pool, label: 'volume p/linked.qcow2' }), {
    format: 'qcow2',
    virtualSize: 2 ** 20,
    backingFile: join(pool, 'base.qcow2'),
  });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secretFile, '-F', 'raw', join(pool, 'evil.qcow2'), '1M']);
  await assert.rejects(inspectBackingChain({ path: join(pool, 'evil.qcow2'), format: 'qcow2', dir: pool, label: 'volume p/evil.qcow2' }), (err: Error) => {
    assert.match(err.message, /^volume p\/evil\.qcow2: its backing chain cannot be opened within /);
    assert.ok(err.message.includes(secretFile), err.message);
    assert.ok(!err.message.includes(SECRET));
    return true;
  });
  // Even unjudged, a conversion that sees only the pool cannot read the host file.
  const outDir = await mkdtemp(join(dir, 'out-'));
  await assert.rejects(convertDisk({ input: join(pool, 'evil.qcow2'), inputFormat: 'qcow2', inputDir: pool, output: join(outDir, 'x.vmdk'), outputFormat: 'vmdk' }));
  assert.deepEqual(await readdir(outDir), []);
  await convertDisk({ input: join(pool, 'linked.qcow2'), inputFormat: 'qcow2', inputDir: pool, output: join(outDir, 'ok.vmdk'), outputFormat: 'vmdk' });
});
