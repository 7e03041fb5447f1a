// Unit tests: the <domainbackup>/<domaincheckpoint> documents libvirt reads, and the manifest's
// chunk comparison and chain logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolRecord } from '../storage/storage-kind.js';
import { checkpointXml, pullBackupXml } from './backup-xml.js';
import { CHUNK_BYTES, differingChunks } from './chunk-sums.js';
import {
  dependentsOf,
  listManifests,
  MANIFEST,
  newBackupId,
  pruneBackups,
  pruneCandidates,
  vmBackupsDir,
  type BackupManifest,
} from './backup-store.js';

const flat = (xml: string) => xml.replace(/>\s+</g, '><').trim();

test('pull backup on a Unix socket, incremental from a checkpoint with its bitmap exported, CD-ROMs left out', () => {
  const disks = [
    { dev: 'vda', backup: true, scratch: '/p/.tmp-x/vda.scratch' },
    { dev: 'sda', backup: false },
  ];
  assert.equal(
    flat(pullBackupXml('/run/quantix/backup/x/nbd.sock', disks, 'qx-backup-1')),
    '<domainbackup mode="pull"><incremental>qx-backup-1</incremental>' +
      '<server transport="unix" socket="/run/quantix/backup/x/nbd.sock"/><disks>' +
      '<disk name="vda" backup="yes" type="file" exportname="vda" exportbitmap="backup-vda">' +
      '<scratch file="/p/.tmp-x/vda.scratch"/><driver type="qcow2"/></disk>' +
      '<disk name="sda" backup="no"/></disks></domainbackup>',
  );
  assert.doesNotMatch(pullBackupXml('/s', disks), /incremental|exportbitmap/);
  assert.equal(
    flat(checkpointXml('qx-backup-2', disks)),
    '<domaincheckpoint><name>qx-backup-2</name><disks><disk name="vda" checkpoint="bitmap"/>' +
      '<disk name="sda" checkpoint="no"/></disks></domaincheckpoint>',
  );
  assert.match(pullBackupXml('/a&b"<x>', disks), /socket="\/a&amp;b&quot;&lt;x&gt;"/);
});

test('differing chunks are reported by byte offset, a missing chunk too', () => {
  assert.deepEqual(differingChunks(['a', 'b', 'c'], ['a', 'x', 'c']), [CHUNK_BYTES]);
  assert.deepEqual(differingChunks(['a', 'b'], ['a']), [CHUNK_BYTES]);
});

test('ids sort by time; dependents are the whole chain built on a point, latest first', () => {
  assert.equal(newBackupId(new Date('2026-12-05T04:05:06.789Z'), 'abcdef'), '20261205T040506Z-abcdef');
  const m = (id: string, parent: string | null) => ({ id, parent }) as BackupManifest;
  const all = [m('1', null), m('2', '1'), m('3', '2'), m('4', null), m('5', '4')];
  assert.deepEqual(
    dependentsOf(all, '1').map((x) => x.id),
    ['3', '2'],
  );
  assert.deepEqual(dependentsOf(all, '3'), []);
});

test('two backups in one second: listed by creation time, and retention keeps the newer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qx-backup-order-'));
  try {
    const pool = { name: 'p', path: dir } as PoolRecord;
    const uuid = '5293a703-83ab-4560-b98a-e6ceafaefdb3';
    // The first one's random suffix sorts after the second's.
    const first = { id: '20261206T163045Z-ffffff', createdAt: '2026-12-06T16:30:45.100Z' };
    const second = { id: '20261206T163045Z-000000', createdAt: '2026-12-06T16:30:45.900Z' };
    for (const b of [first, second]) {
      const manifest = { format: 1, ...b, vm: { uuid, name: 'vm' }, kind: 'full', parent: null, disks: [] };
      await mkdir(join(vmBackupsDir(pool, uuid), b.id), { recursive: true });
      await writeFile(join(vmBackupsDir(pool, uuid), b.id, MANIFEST), JSON.stringify(manifest));
    }
    assert.deepEqual(
      (await listManifests(pool, uuid)).map((m) => m.id),
      [first.id, second.id],
    );
    await pruneBackups(pool, uuid, lastOnly(1));
    assert.deepEqual(await readdir(vmBackupsDir(pool, uuid)), [second.id], 'the newer point is the one kept');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('retention keeps the newest N points and the chain they build on, nothing else', () => {
  const m = (id: string, parent: string | null) => ({ id, parent }) as BackupManifest;
  // Two chains: F1 <- I2 <- I3, F4 <- I5 <- I6.
  const all = [m('1', null), m('2', '1'), m('3', '2'), m('4', null), m('5', '4'), m('6', '5')];
  const ids = (keep: number) => pruneCandidates(all, lastOnly(keep)).map((x) => x.id);
  assert.deepEqual(ids(1), ['3', '2', '1'], 'I6 needs I5 and F4; the first chain goes, latest first');
  assert.deepEqual(ids(3), ['3', '2', '1']);
  assert.deepEqual(ids(4), [], 'keeping I3 keeps its whole chain');
  assert.deepEqual(ids(0), [], '0 = keep everything');
  assert.deepEqual(
    pruneCandidates([m('1', null), m('2', null), m('3', null)], lastOnly(2)).map((x) => x.id),
    ['1'],
  );
});

const lastOnly = (last: number) => ({ last, daily: 0, weekly: 0, monthly: 0 });

test('retention by day, ISO week and month keeps the newest point of each period, and their chains', () => {
  const at = (id: string, createdAt: string, parent: string | null = null) =>
    ({ id, createdAt, parent }) as BackupManifest;
  // Fulls on Sundays and the 1st, incrementals between; 2026-11-30 is a Monday.
  const all = [
    at('a', '2026-10-31T02:00:00Z'),
    at('b', '2026-11-15T02:00:00Z'),
    at('c', '2026-11-29T02:00:00Z'),
    at('d', '2026-11-30T02:00:00Z', 'c'),
    at('e', '2026-12-01T02:00:00Z'),
    at('f', '2026-12-01T14:00:00Z', 'e'),
    at('g', '2026-12-02T02:00:00Z', 'f'),
  ];
  const gone = (p: Partial<ReturnType<typeof lastOnly>>) =>
    pruneCandidates(all, { ...lastOnly(0), ...p })
      .map((x) => x.id)
      .sort()
      .join('');
  assert.equal(gone({ daily: 2 }), 'abcd', 'the 2nd (g) and the 1st (f, newest that day), g and f need e');
  assert.equal(gone({ weekly: 2 }), 'abd', 'week of 30 Nov: g (chain e, f; not d); week of 23 Nov: c (a Sunday)');
  assert.equal(gone({ monthly: 3 }), 'b', 'December: g (chain e, f); November: d (chain c); October: a');
  assert.equal(gone({ last: 1, monthly: 2 }), 'ab', 'the rules add up: g and the newest of November, d (chain c)');
  assert.equal(gone({}), '', 'no rule = keep everything');
});

test('a manifest naming a disk file outside its directory is not a backup', async () => {
  const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { listManifests } = await import('./backup-store.js');
  const root = await mkdtemp(join(tmpdir(), 'qxt-backup-manifest-'));
  try {
    const uuid = '0b8a3c1e-1111-4222-8333-944455556666';
    const pool = { name: 'p', path: root } as Parameters<typeof listManifests>[0];
    const write = async (id: string, file: string) => {
      await mkdir(join(root, 'backups', uuid, id), { recursive: true });
      const disk = { target: 'vda', file, capacityBytes: 1, storedBytes: 1, chunkBytes: CHUNK_BYTES, sha256: [] };
      const m = {
        format: 1,
        id,
        vm: { uuid, name: 'x' },
        createdAt: '',
        kind: 'full',
        parent: null,
        consistency: 'crash',
        checkpoint: null,
        disks: [disk],
      };
      await writeFile(join(root, 'backups', uuid, id, 'manifest.json'), JSON.stringify(m));
    };
    await write('20261205T040506Z-aaaaaa', 'vda.qcow2');
    await write('20261205T040507Z-bbbbbb', '../../../../etc/shadow');
    assert.deepEqual(
      (await listManifests(pool, uuid)).map((m) => m.id),
      ['20261205T040506Z-aaaaaa'],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
