// The one image judge against hostile images, layer by layer: header probe and qemu-img info
// judged (pure, on captured JSON and probes) for OVA disks and uploads alike, and the bubblewrap
// sandbox (real qemu-img), shown to block what plain qemu-img reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  headerProblem,
  inspectBackingChain,
  inspectDisk,
  judgeBackingChain,
  judgeImageInfo,
  UPLOAD_FORMATS,
  type VolumeChainTarget,
} from './disk-inspect.js';
import type { HeaderProbe } from '../storage/volume-probe.js';
import type { FileSlice } from './qemu-sandbox.js';
import { convertDisk } from './disk-convert.js';

const SECRET = 'QXT-OVA-INSPECT-SECRET-55aa';
const MIB_1 = 2 ** 20;
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
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-u',
    '-b',
    secretFile,
    '-F',
    'raw',
    join(dir, 'backed.qcow2'),
    '1M',
  ]);
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'vmdk',
    '-o',
    'subformat=streamOptimized',
    join(dir, 'good.vmdk'),
    '4M',
  ]);
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

for (const [file, format] of [
  ['text.vmdk', 'vmdk'],
  ['kdmv.vmdk', 'vmdk'],
  ['backed.qcow2', 'qcow2'],
] as const) {
  test(`sandboxed qemu-img info refuses ${file}; sandboxed convert cannot read the host file either`, async () => {
    await assert.rejects(inspectDisk(join(dir, file), format, file), (err: Error) => {
      assert.match(err.message, new RegExp(`disk "${file.replace('.', '\\.')}" is not a safe image`));
      assert.ok(!err.message.includes(SECRET));
      return true;
    });
    const outDir = await mkdtemp(join(dir, 'out-'));
    await assert.rejects(
      convertDisk({
        input: join(dir, file),
        inputFormat: format,
        output: join(outDir, 'x.qcow2'),
        outputFormat: 'qcow2',
      }),
    );
    assert.deepEqual(await readdir(outDir), []);
  });
}

test('a self-contained streamOptimized VMDK passes and converts with progress', async () => {
  const info = await inspectDisk(join(dir, 'good.vmdk'), 'vmdk', 'good.vmdk');
  assert.deepEqual(info, { format: 'vmdk', virtualSize: 4 * 2 ** 20 });
  const seen: number[] = [];
  const outDir = await mkdtemp(join(dir, 'out-'));
  await convertDisk({
    input: join(dir, 'good.vmdk'),
    inputFormat: 'vmdk',
    output: join(outDir, 'g.qcow2'),
    outputFormat: 'qcow2',
    onPercent: (p) => seen.push(p),
  });
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
  assert.deepEqual(await inspectDisk(file, 'vmdk', 'good.vmdk', { offset: goodOffset, size: good.length }), {
    format: 'vmdk',
    virtualSize: 4 * 2 ** 20,
  });
  await assert.rejects(
    inspectDisk(file, 'vmdk', 'good.vmdk', { offset: goodOffset, size: good.length - 512 }),
    /not a safe image/,
  );
});

/** judgeImageInfo for an OVA disk named "d". */
function judge(json: string, format: string, path: string, _label: string, slice?: FileSlice) {
  return judgeImageInfo(json, {
    declared: format,
    path,
    slice,
    label: 'disk "d"',
    field: 'disk',
    declaredBy: 'the OVF says',
  });
}

test('judgeImageInfo (captured qemu-img 7.2 JSON): extents elsewhere, wrong create-type, backing, data file', () => {
  const vmdk = (createType: string, extent: string) =>
    JSON.stringify({
      'virtual-size': 512,
      filename: '/in/d',
      format: 'vmdk',
      'format-specific': {
        type: 'vmdk',
        data: { 'create-type': createType, extents: [{ filename: extent, format: 'FLAT' }] },
      },
    });
  assert.throws(() => judge(vmdk('monolithicFlat', '/tmp/x'), 'vmdk', '/in/d', 'd'), /create-type "monolithicFlat"/);
  assert.throws(
    () => judge(vmdk('streamOptimized', '/etc/passwd'), 'vmdk', '/in/d', 'd'),
    /extent refers to another file/,
  );
  assert.deepEqual(judge(vmdk('streamOptimized', '/in/d'), 'vmdk', '/in/d', 'd'), { format: 'vmdk', virtualSize: 512 });
  const q = (extra: object) => JSON.stringify({ 'virtual-size': 1048576, format: 'qcow2', ...extra });
  assert.throws(() => judge(q({ 'backing-filename': '/etc/shadow' }), 'qcow2', '/in/d', 'd'), /backing file/);
  assert.throws(
    () => judge(q({ 'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/sda' } } }), 'qcow2', '/in/d', 'd'),
    /external data file/,
  );
  assert.throws(() => judge('not json', 'raw', '/in/d', 'd'), /not JSON/);
  const raw = (o: number, f: string) =>
    `json:{"offset": ${o}, "driver": "raw", "size": 100, "file": {"driver": "file", "filename": "${f}"}}`;
  const slice = { offset: 5120, size: 100 };
  assert.deepEqual(judge(vmdk('streamOptimized', raw(5120, '/in/j.ova')), 'vmdk', '/in/j.ova', 'd', slice), {
    format: 'vmdk',
    virtualSize: 512,
  });
  assert.throws(
    () => judge(vmdk('streamOptimized', raw(0, '/in/j.ova')), 'vmdk', '/in/j.ova', 'd', slice),
    /extent refers to another file/,
  );
  assert.throws(
    () => judge(vmdk('streamOptimized', raw(5120, '/etc/passwd')), 'vmdk', '/in/j.ova', 'd', slice),
    /extent refers to another file/,
  );
  assert.throws(
    () => judge(vmdk('streamOptimized', '/in/j.ova'), 'vmdk', '/in/j.ova', 'd', slice),
    /extent refers to another file/,
  );
});

test('judgeBackingChain (captured qemu-img 7.2 --backing-chain JSON): in the pool passes, elsewhere is named', () => {
  const top = {
    filename: '/p/ok2.qcow2',
    format: 'qcow2',
    'virtual-size': 1048576,
    'backing-filename': 'ok.qcow2',
    'full-backing-filename': '/p/ok.qcow2',
    'backing-filename-format': 'qcow2',
  };
  const mid = {
    filename: '/p/ok.qcow2',
    format: 'qcow2',
    'virtual-size': 1048576,
    'backing-filename': 'base.raw',
    'full-backing-filename': '/p/base.raw',
    'backing-filename-format': 'raw',
  };
  const base = { filename: '/p/base.raw', format: 'raw', 'virtual-size': 1048576 };
  const target: VolumeChainTarget = { path: '/p/ok2.qcow2', format: 'qcow2', dir: '/p', label: 'volume p/ok2.qcow2' };
  const judge = (chain: object[], t = target) => judgeBackingChain(JSON.stringify(chain), t);
  assert.deepEqual(judge([top, mid, base]), { format: 'qcow2', virtualSize: 1048576, backingFile: '/p/ok.qcow2' });
  assert.deepEqual(judge([base], { ...target, path: '/p/base.raw', format: 'raw' }), {
    format: 'raw',
    virtualSize: 1048576,
  });
  const outside = {
    ...mid,
    'backing-filename': '/var/lib/quantix/server/quantix.db.json',
    'full-backing-filename': '/var/lib/quantix/server/quantix.db.json',
  };
  assert.throws(
    () => judge([top, outside, { ...base, filename: '/var/lib/quantix/server/quantix.db.json' }]),
    /^AgentError: volume p\/ok2\.qcow2: its backing file \/var\/lib\/quantix\/server\/quantix\.db\.json lies outside \/p/,
  );
  assert.throws(
    () => judge([{ ...top, 'full-backing-filename': '/p/sub/x', 'backing-filename': 'sub/x' }]),
    /backing file \/p\/sub\/x lies outside \/p/,
  );
  assert.throws(
    () =>
      judge([
        {
          ...top,
          'backing-filename': 'json:{"driver":"file","filename":"/etc/shadow"}',
          'full-backing-filename': undefined,
        },
      ]),
    /lies outside/,
  );
  assert.throws(
    () => judge([top, mid, { ...base, format: 'vmdk' }]),
    /backing file \/p\/base\.raw is vmdk, not qcow2 or raw/,
  );
  assert.throws(
    () => judge([top, { ...mid, 'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/sda' } } }, base]),
    /backing file \/p\/ok\.qcow2: it has an external data file/,
  );
  assert.throws(() => judge([top, base]), /opened \/p\/base\.raw where \/p\/ok\.qcow2 was expected/);
  assert.throws(
    () => judge([top, mid, base], { ...target, dir: undefined }),
    /backing file \/p\/ok\.qcow2 lies outside the volume/,
  );
  assert.throws(() => judge([]), /no backing chain/);
});

test('inspectBackingChain: a chain leaving the directory cannot even be opened in the sandbox', async () => {
  const pool = await mkdtemp(join(dir, 'pool-'));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(pool, 'base.qcow2'), '1M']);
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-b',
    'base.qcow2',
    '-F',
    'qcow2',
    join(pool, 'linked.qcow2'),
  ]);
  assert.deepEqual(
    await inspectBackingChain({
      path: join(pool, 'linked.qcow2'),
      format: 'qcow2',
      dir: pool,
      label: 'volume p/linked.qcow2',
    }),
    {
      format: 'qcow2',
      virtualSize: 2 ** 20,
      backingFile: join(pool, 'base.qcow2'),
    },
  );
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-u',
    '-b',
    secretFile,
    '-F',
    'raw',
    join(pool, 'evil.qcow2'),
    '1M',
  ]);
  await assert.rejects(
    inspectBackingChain({ path: join(pool, 'evil.qcow2'), format: 'qcow2', dir: pool, label: 'volume p/evil.qcow2' }),
    (err: Error) => {
      assert.match(err.message, /^volume p\/evil\.qcow2: its backing chain cannot be opened within /);
      assert.ok(err.message.includes(secretFile), err.message);
      assert.ok(!err.message.includes(SECRET));
      return true;
    },
  );
  // Even unjudged, a conversion that sees only the pool cannot read the host file.
  const outDir = await mkdtemp(join(dir, 'out-'));
  await assert.rejects(
    convertDisk({
      input: join(pool, 'evil.qcow2'),
      inputFormat: 'qcow2',
      inputDir: pool,
      output: join(outDir, 'x.vmdk'),
      outputFormat: 'vmdk',
    }),
  );
  assert.deepEqual(await readdir(outDir), []);
  await convertDisk({
    input: join(pool, 'linked.qcow2'),
    inputFormat: 'qcow2',
    inputDir: pool,
    output: join(outDir, 'ok.vmdk'),
    outputFormat: 'vmdk',
  });
});

test('rules the upload path had and OVA import lacked: encryption, corruption, foreign formats as raw, absurd sizes', async () => {
  const img = (name: string) => join(dir, name);
  // An encrypted qcow2 by its header's crypt_method (offset 32; 1 = AES): `qemu-img create` with
  // LUKS encryption first times PBKDF2 on the thread's CPU clock and fails now and then with
  // "Unable to get accurate CPU usage" when that clock has not moved, so the test does not use it.
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img('encrypted.qcow2'), '1M']);
  const encrypted = await readFile(img('encrypted.qcow2'));
  encrypted.writeUInt32BE(1, 32);
  await writeFile(img('encrypted.qcow2'), encrypted);
  await writeFile(
    img('disk.luks'),
    Buffer.concat([Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe, 0, 1]), Buffer.alloc(MIB_1)]),
  ); // a LUKS header
  execFileSync('qemu-img', ['create', '-q', '-f', 'vhdx', img('disk.vhdx'), '1M']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img('huge.qcow2'), '100T']);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img('corrupt.qcow2'), '1M']);
  const corrupt = await readFile(img('corrupt.qcow2'));
  corrupt.writeBigUInt64BE(corrupt.readBigUInt64BE(72) | 2n, 72); // incompatible feature bit 1: corrupt
  await writeFile(img('corrupt.qcow2'), corrupt);
  const refused = (file: string, format: string, why: RegExp) =>
    assert.rejects(inspectDisk(img(file), format, file), (err: Error) => {
      assert.match(err.message, new RegExp(`disk "${file.replace('.', '\\.')}" is not a safe image: `));
      assert.match(err.message, why);
      return true;
    });
  await refused('encrypted.qcow2', 'qcow2', /encrypted/);
  await refused('corrupt.qcow2', 'qcow2', /corrupt/);
  await refused('disk.luks', 'raw', /luks/);
  await refused('disk.vhdx', 'raw', /vhdx/);
  await refused('huge.qcow2', 'qcow2', /virtual size 109951162777600 .*70368744177664/);
});

// Captured from qemu-img 7.2 on images made with `qemu-img create`.
const plainQcow2 = {
  'virtual-size': 29655040,
  format: 'qcow2',
  'format-specific': {
    type: 'qcow2',
    data: {
      compat: '1.1',
      'compression-type': 'zlib',
      'lazy-refcounts': false,
      'refcount-bits': 16,
      corrupt: false,
      'extended-l2': false,
    },
  },
};

test('uploads are judged by the same rules (header probes and captured qemu-img JSON)', () => {
  const upload = { allowed: UPLOAD_FORMATS, declaredBy: 'the upload says' };
  const head = (probe: HeaderProbe, declared: string) => headerProblem(probe, { ...upload, declared });
  assert.equal(head({ format: 'qcow2' }, 'qcow2'), undefined);
  assert.equal(head({ format: 'raw' }, 'raw'), undefined);
  assert.equal(head({ format: 'iso' }, 'iso'), undefined);
  assert.equal(head({ format: 'iso' }, 'raw'), undefined, 'a hybrid ISO is also a raw disk');
  assert.match(head({ format: 'qcow2', backingFile: '/etc/shadow' }, 'qcow2')!, /backing file \("\/etc\/shadow"\)/);
  assert.match(head({ format: 'qcow2', externalDataFile: true }, 'qcow2')!, /external data file/);
  assert.match(
    head({ format: 'vmdk', vmdk: { kind: 'descriptor-file' } }, 'raw')!,
    /vmdk images are not accepted here \(only qcow2, raw, iso\)/,
  );
  assert.match(head({ format: 'vmdk' }, 'vmdk')!, /vmdk images are not accepted here/);
  assert.match(head({ format: 'other', detail: 'vhdx' }, 'raw')!, /vhdx images are not accepted/);
  assert.match(head({ format: 'qcow2' }, 'raw')!, /it is qcow2, the upload says raw/);
  assert.match(head({ format: 'raw' }, 'qcow2')!, /it is raw, the upload says qcow2/);
  assert.match(head({ format: 'raw' }, 'iso')!, /no ISO9660 signature/);
  // The VMDK header rules an OVA disk meets.
  const ova = { allowed: ['vmdk', 'qcow2', 'raw'] as const, declaredBy: 'the OVF says', declared: 'vmdk' };
  assert.match(
    headerProblem({ format: 'vmdk', vmdk: { kind: 'sparse', capacitySectors: 0n } }, ova)!,
    /without capacity/,
  );
  assert.match(
    headerProblem(
      { format: 'vmdk', vmdk: { kind: 'sparse', capacitySectors: 8n, descriptor: descriptor('/etc/passwd') } },
      ova,
    )!,
    /create-type "monolithicFlat"/,
  );
  assert.equal(
    headerProblem(
      {
        format: 'vmdk',
        vmdk: {
          kind: 'sparse',
          capacitySectors: 8n,
          descriptor: 'createType="streamOptimized"\nRW 8 SPARSE "d.vmdk"\n',
        },
      },
      ova,
    ),
    undefined,
  );

  const info = (o: object, declared: string) =>
    judgeImageInfo(JSON.stringify(o), {
      declared,
      path: '/in/x',
      label: 'upload p/x',
      field: 'data',
      declaredBy: 'the upload says',
    });
  assert.deepEqual(info(plainQcow2, 'qcow2'), { format: 'qcow2', virtualSize: 29655040 });
  assert.deepEqual(info({ 'virtual-size': 1048576, format: 'raw' }, 'iso'), { format: 'iso', virtualSize: 1048576 });
  assert.throws(
    () => info({ ...plainQcow2, 'backing-filename': '/etc/passwd' }, 'qcow2'),
    /^AgentError: upload p\/x is not a safe image: it has a backing file \("\/etc\/passwd"\)/,
  );
  const data = (d: object) => ({ ...plainQcow2, 'format-specific': { type: 'qcow2', data: d } });
  assert.throws(() => info(data({ 'data-file': '/tmp/x.raw', 'data-file-raw': false }), 'qcow2'), /external data file/);
  assert.throws(() => info({ ...plainQcow2, encrypted: true }, 'qcow2'), /encrypted/);
  assert.throws(() => info(data({ corrupt: true }), 'qcow2'), /corrupt/);
  assert.throws(() => info({ ...plainQcow2, format: 'vmdk' }, 'raw'), /it is vmdk, the upload says raw/);
  assert.throws(() => info({ format: 42 }, 'raw'), /it is unknown/, 'untrusted field types');
  assert.throws(
    () => info({ ...plainQcow2, 'virtual-size': 2 ** 50 }, 'qcow2'),
    /virtual size 1125899906842624 bytes is more than the 70368744177664 bytes allowed/,
  );
});
