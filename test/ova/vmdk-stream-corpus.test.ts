// Every disk of the OVA corpus that is a streamOptimized VMDK is decoded while the OVA streams
// (never stored as VMDK), as a raw file and straight into a qcow2 (what an import does), and holds what
// qemu-img reads from the same VMDK (`qemu-img compare`);
// the other disks (monolithicSparse, qcow2, raw, descriptor tricks) are left to qemu-img.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readOvaStream } from '../../agent/src/ova/ova-stream.js';
import { buildCorpus } from './corpus.js';
import { assertGuestBuilt } from '../guest/fixture.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

test('corpus: streamOptimized VMDKs decode while streaming to what qemu-img reads', async (t) => {
  assertGuestBuilt();
  // A directory of its own: ova-corpus.test.ts builds the corpus at the same time (make test runs
  // two files at once), and a fresh clone has none yet: the two rewrote each other's files.
  const cases = buildCorpus(join(root, 'test/output/ova-corpus-stream'));
  const work = await mkdtemp(join(root, 'test/output/qxt-vmdk-stream-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  let decoded = 0;
  let left = 0;
  for (const c of cases.filter((x) => x.expect)) {
    const asVmdk = join(work, `${c.name}-staged`);
    const asRaw = join(work, `${c.name}-decoded`);
    const asQcow2 = join(work, `${c.name}-qcow2`);
    await mkdir(asVmdk);
    await mkdir(asRaw);
    await mkdir(asQcow2);
    const plain = await readOvaStream(createReadStream(c.file), { stagingDir: asVmdk });
    const read = await readOvaStream(createReadStream(c.file), { stagingDir: asRaw, decodeVmdk: 'raw' });
    const intoQcow2 = await readOvaStream(createReadStream(c.file), { stagingDir: asQcow2, decodeVmdk: 'qcow2' });
    for (const [i, d] of read.disks.entries()) {
      const format = read.spec.disks[i]!.format;
      const streamOptimized = format === 'vmdk' && plain.disks[i]!.head.includes('createType="streamOptimized"');
      // The OVF must come first for the decoder to know the disk is declared VMDK.
      const ovfFirst = c.name !== 'ovf-after-disks';
      assert.equal(d.decoded !== undefined, streamOptimized && ovfFirst, `${c.name} disk ${i}: decoded`);
      if (!d.decoded) {
        left++;
        continue;
      }
      decoded++;
      const q = intoQcow2.disks[i]!;
      assert.ok(q.decoded, `${c.name} disk ${i}: decoded into qcow2`);
      for (const [path, format] of [
        [d.path!, 'raw'],
        [q.path!, 'qcow2'],
      ] as const) {
        await exec('qemu-img', ['compare', '-f', format, '-F', 'vmdk', path, plain.disks[i]!.path!]);
        const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', path])).stdout) as {
          format: string;
          'virtual-size': number;
        };
        assert.equal(info.format, format, `${c.name} disk ${i}: format`);
        assert.equal(info['virtual-size'], d.decoded.capacityBytes, `${c.name} disk ${i}: size as ${format}`);
      }
    }
  }
  assert.ok(decoded >= 10, `${decoded} disks decoded`);
  assert.ok(left >= 2, `${left} disks left to qemu-img`);
});
