// The point in time of a running VM's full backup (#24): an external disk-only snapshot puts every
// disk on a qcow2 overlay in the backup's hidden dir beside it, so the VM's own files stay frozen
// (read by backup-create.ts) until the overlays are committed back. Owns taking
// the overlays, committing them back (live: blockcommit + pivot; a VM that stopped meanwhile:
// offline, qemu-img) and finding the overlays a killed agent left on any VM of the host.
// https://libvirt.org/kbase/live_full_disk_backup.html
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { run } from '../exec/run.js';
import { domainDefine, domainDumpXml, domainState, DomainState } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { buildOrderedXml } from '../libvirt/xml/builder.js';
import { readDomainXml, type DomainDisk } from '../libvirt/xml/domain-parse.js';
import { readOrderedXml, type XmlNode } from '../libvirt/xml/parser.js';
import { isOtherLiveProcess, parseIdentity, thisProcess } from '../exec/process-identity.js';
import { log } from '../log.js';

/** A backup's hidden dir beside each disk (overlays, pull scratch files): pool listings skip dot files. */
export const SCRATCH_PREFIX = '.qx-backup-';
export const scratchDirName = (id: string) => `${SCRATCH_PREFIX}${id}`;
/** Where the overlay of `disk` goes during backup `id`. */
export const overlayFile = (disk: DomainDisk, id: string) =>
  join(dirname(disk.source.file!), scratchDirName(id), `${disk.dev}.overlay.qcow2`);
/** Whether a disk source is a backup's overlay (it lies in a backup's hidden dir). */
export const isOverlay = (file: string | undefined): file is string =>
  !!file && basename(dirname(file)).startsWith(SCRATCH_PREFIX);

/**
 * Refuses `what` (a migration, a disk move) while the VM runs on a backup's overlays: it would copy
 * or switch the overlays instead of the VM's own disks, under the backup's feet.
 */
export function refuseOnOverlays(vm: string, disks: readonly DomainDisk[], what: string): void {
  const on = disks.find((d) => isOverlay(d.source.file));
  if (on)
    throw failedPrecondition(
      `VM ${vm} is being backed up: its disk ${on.dev} is on the backup's overlay until the copy ends; ${what} after the backup`,
    );
}

/** A live commit takes as long as the guest wrote during the copy: bounded only as a copy is. */
const COMMIT_TIMEOUT_MS = 6 * 60 * 60_000;

interface Vm {
  uuid: string;
  name: string;
}

/**
 * The `virsh snapshot-create-as` arguments: external overlays for the disks backed up, none for
 * the others (a CD-ROM). No metadata: libvirt keeps no snapshot object, only the changed sources.
 * `--atomic`: every disk switches or none. virsh's --diskspec escapes a ',' in a path as ',,'.
 */
export function snapshotArgs(uuid: string, disks: readonly DomainDisk[], otherDevs: readonly string[], id: string) {
  return [
    'snapshot-create-as',
    uuid,
    '--disk-only',
    '--no-metadata',
    '--atomic',
    ...disks.flatMap((d) => [
      '--diskspec',
      `${d.dev},snapshot=external,file=${overlayFile(d, id).replaceAll(',', ',,')}`,
    ]),
    ...otherDevs.flatMap((dev) => ['--diskspec', `${dev},snapshot=no`]),
  ];
}

/** In each overlay dir: the agent process whose backup made it (pid and start time). */
export const OWNER_FILE = 'owner.json';

/**
 * The pid of another agent process, still running, whose backup put the overlays in `dirs` there
 * (several agents share one libvirt in tests, and each recovers at its start); undefined when
 * their owner is gone or is this process (whose backups of a VM never overlap: the per-VM lock).
 */
export async function runningOwner(dirs: Iterable<string>): Promise<number | undefined> {
  for (const dir of dirs) {
    // None, or cut short: the agent died between making the dir and the snapshot; nobody's.
    const owner = parseIdentity(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined));
    if (owner && (await isOtherLiveProcess(owner))) return owner.pid;
  }
  return undefined;
}

/**
 * Puts every disk of the running VM on an overlay (one instant for all): its files are frozen
 * from here on, QEMU keeps them open read-only as the overlays' backing files. On failure nothing
 * stays (libvirt's --atomic undoes a partial switch; the dirs are removed).
 */
export async function takeOverlays(
  virsh: Virsh,
  vm: Vm,
  disks: readonly DomainDisk[],
  otherDevs: readonly string[],
  id: string,
): Promise<void> {
  const dirs = [...new Set(disks.map((d) => dirname(overlayFile(d, id))))];
  try {
    // Root's, readable: libvirt creates the overlays itself and hands them to QEMU's user.
    for (const dir of dirs) await run('mkdir', ['-m', '0755', dir]);
    const owner = JSON.stringify(await thisProcess());
    for (const dir of dirs) await writeFile(join(dir, OWNER_FILE), owner, { mode: 0o644 });
    await virsh.exec(snapshotArgs(vm.uuid, disks, otherDevs, id));
  } catch (err) {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    throw new AgentError(
      ErrorCode.Internal,
      `VM ${vm.name}: the backup snapshot failed: ${Virsh.message(err)}`,
      undefined,
      { cause: err },
    );
  }
}

export interface CommittedOverlays {
  /** Overlay files committed into the running VM's disks (blockcommit + pivot). */
  live: string[];
  /** Overlay files committed with qemu-img: the VM was shut off. */
  offline: string[];
}

/**
 * Brings the VM back onto its own disks from every backup overlay it is on, whatever left them
 * (this backup, or an agent killed mid-backup): running → an active blockcommit with pivot per disk,
 * all at once (libvirt merges the overlay's dirty bitmaps back, checkpoints stay exact); shut off →
 * qemu-img commit (the base's bitmaps record it), the definition given its files back. Then the
 * overlays' dirs go. Throws, and leaves the overlays in place (they hold the guest's latest
 * writes), while the VM still runs on one.
 */
export async function commitOverlays(virsh: Virsh, vm: Vm): Promise<CommittedOverlays> {
  const done: CommittedOverlays = { live: [], offline: [] };
  let state = await domainState(virsh, vm.uuid);
  const dirs = new Set<string>();
  if (state !== DomainState.Shutoff) {
    const live = readDomainXml(await domainDumpXml(virsh, vm.uuid)).disks.filter((d) => isOverlay(d.source.file));
    const results = await Promise.allSettled(live.map((d) => activeCommit(virsh, vm, d.dev)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const [i, d] of live.entries()) {
      dirs.add(dirname(d.source.file!));
      if (results[i]!.status === 'fulfilled') done.live.push(d.source.file!);
    }
    // A VM that stopped (or was destroyed) meanwhile is committed offline below.
    if (failed.length) state = await domainState(virsh, vm.uuid);
    if (failed.length && state !== DomainState.Shutoff) {
      throw new AgentError(
        ErrorCode.Internal,
        `VM ${vm.name}: committing the backup overlays back failed: ${failed.map((e) => Virsh.message(e)).join('; ')}`,
      );
    }
  }
  const inactive = await domainDumpXml(virsh, vm.uuid, true);
  const stale = readDomainXml(inactive).disks.filter((d) => isOverlay(d.source.file));
  if (stale.length) {
    const bases = new Map<string, string>();
    for (const d of stale) {
      const overlay = d.source.file!;
      dirs.add(dirname(overlay));
      bases.set(overlay, await backingOf(overlay));
      // Running: its disks are back on their files; only the definition still names the overlays.
      if (state === DomainState.Shutoff) {
        await offlineCommit(overlay);
        done.offline.push(overlay);
      }
    }
    await domainDefine(virsh, vm.uuid, restoreDiskSources(inactive, bases));
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  return done;
}

/**
 * commitOverlays for overlays a backup left behind (its agent killed): refused, naming the
 * process, while the agent process whose backup made them still runs.
 */
export async function commitAbandonedOverlays(virsh: Virsh, vm: Vm): Promise<CommittedOverlays> {
  const [live, inactive] = await Promise.all([domainDumpXml(virsh, vm.uuid), domainDumpXml(virsh, vm.uuid, true)]);
  const dirs = [...readDomainXml(live).disks, ...readDomainXml(inactive).disks]
    .map((d) => d.source.file)
    .filter(isOverlay)
    .map((f) => dirname(f));
  const owner = await runningOwner(new Set(dirs));
  if (owner !== undefined)
    throw failedPrecondition(`VM ${vm.name} is being backed up right now by agent process ${owner}`);
  return commitOverlays(virsh, vm);
}

/**
 * An active commit of the overlay into the VM's disk, then the pivot back onto the disk; a commit a
 * killed agent left mirroring is pivoted. --shallow: into the overlay's own backing file, the VM's
 * disk; without it libvirt commits into the bottom of the chain, which for a linked clone is the
 * template every clone shares.
 */
async function activeCommit(virsh: Virsh, vm: Vm, dev: string): Promise<void> {
  try {
    await virsh.exec(['blockcommit', vm.uuid, dev, '--active', '--shallow']);
  } catch (err) {
    if (!/already in active block job|block job .* active|in use by a block job/i.test(Virsh.message(err))) throw err;
    log.warn('pivoting a backup commit left by a stopped agent', { vm: vm.name, dev });
  }
  await pivotWhenReady(virsh, vm, dev);
}

/**
 * Pivots as soon as the commit is ready (it has copied the overlay and mirrors the guest's
 * writes), polled from 10 ms up to once a second. Not `blockcommit --pivot --wait`: virsh polls
 * the job every 500 ms, which made a backup of a VM that wrote almost nothing meanwhile wait up to
 * half a second per commit (the backup bench's commit phase: 150 or 650 ms, now about 170 ms).
 */
async function pivotWhenReady(virsh: Virsh, vm: Vm, dev: string): Promise<void> {
  const end = Date.now() + COMMIT_TIMEOUT_MS;
  for (let pause = 10; ; pause = Math.min(pause * 2, 1000)) {
    try {
      await virsh.exec(['blockjob', vm.uuid, dev, '--pivot']);
      return;
    } catch (err) {
      if (!/not ready for pivot/i.test(Virsh.message(err)) || Date.now() > end) throw err;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** The backing file libvirt wrote into an overlay it created (absolute). */
async function backingOf(overlay: string): Promise<string> {
  const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', '-f', 'qcow2', overlay])).stdout) as {
    'full-backing-filename'?: string;
  };
  const base = info['full-backing-filename'];
  if (!base) throw new AgentError(ErrorCode.Internal, `backup overlay ${overlay} has no backing file`);
  return base;
}

/**
 * A shut-off VM's overlay written into its base with qemu-img. The base's enabled dirty bitmaps
 * (its checkpoints') are loaded by qemu-img and record the commit's writes, so the guest's writes
 * to the overlay count for the next incremental (the test checks it). Not in the qemu-img
 * sandbox: it runs without capabilities, and libvirt leaves the base (a backing file when the VM
 * stopped) owned by QEMU's user, so only root with its DAC override can write it. Both files are
 * ones QEMU just ran the VM on: the overlay libvirt created at our request, the base the VM's disk.
 */
async function offlineCommit(overlay: string): Promise<void> {
  await run('qemu-img', ['commit', '-q', '-d', '-f', 'qcow2', overlay], { timeoutMs: COMMIT_TIMEOUT_MS });
}

const children = (n: XmlNode, tag: string): XmlNode[] =>
  ((n[tag] as XmlNode[] | undefined) ?? []).filter((c) => typeof c === 'object' && c !== null);

/**
 * The domain XML with each disk whose source is a key of `bases` back on that base: its source file
 * replaced, its <backingStore> (the base itself) dropped; all else given back exactly.
 */
export function restoreDiskSources(xml: string, bases: ReadonlyMap<string, string>): string {
  const doc = readOrderedXml(xml);
  for (const domain of doc.filter((n) => 'domain' in n)) {
    for (const devices of children(domain, 'domain').filter((n) => 'devices' in n)) {
      for (const disk of children(devices, 'devices').filter((n) => 'disk' in n)) {
        const parts = disk.disk as XmlNode[];
        const source = parts.find((n) => typeof n === 'object' && 'source' in n);
        const attrs = source?.[':@'] as Record<string, string> | undefined;
        const base = attrs?.['@file'] !== undefined ? bases.get(attrs['@file']) : undefined;
        if (!attrs || !base) continue;
        attrs['@file'] = base;
        disk.disk = parts.filter((n) => !(typeof n === 'object' && 'backingStore' in n));
      }
    }
  }
  return buildOrderedXml(doc);
}

/**
 * Every VM of the host left on backup overlays (an agent killed between snapshot and commit) is
 * committed back; returns the names of those handled. A VM whose commit fails is logged and skipped.
 */
export async function recoverOverlays(virsh: Virsh): Promise<string[]> {
  const uuids = (await virsh.exec(['list', '--all', '--uuid']))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const recovered: string[] = [];
  for (const uuid of uuids) {
    let xml: string;
    try {
      xml = await domainDumpXml(virsh, uuid);
    } catch (err) {
      // One that went since the listing is no concern.
      if (!(err instanceof AgentError && err.code === ErrorCode.NotFound))
        log.warn('backup recovery: cannot read a VM', { uuid, err: String(err) });
      continue;
    }
    const parsed = readDomainXml(xml);
    if (!parsed.disks.some((d) => isOverlay(d.source.file))) continue;
    const vm = { uuid, name: parsed.name };
    try {
      const done = await commitAbandonedOverlays(virsh, vm);
      log.warn('backup recovery: a VM left on backup overlays by a stopped agent is back on its disks', {
        vm: vm.name,
        committedLive: done.live,
        committedOffline: done.offline,
      });
      recovered.push(vm.name);
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCode.FailedPrecondition) {
        log.info('backup recovery: left alone, another agent is backing the VM up', { vm: vm.name, err: err.message });
        continue;
      }
      log.error('backup recovery: the VM is still on backup overlays', { vm: vm.name, err: String(err) });
    }
  }
  return recovered;
}
