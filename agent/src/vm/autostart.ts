// Autostart on host boot: once per boot (the kernel's boot id, remembered in a file under /run), when
// libvirt answers, the agent starts the shut-off VMs whose metadata asks for it — lowest order
// first (then by name), waiting each VM's delay before the next. libvirt's own autostart flag
// is not used: libvirtd would start those VMs itself, all at once and in no order.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';
import { DomainState, domainDumpXml, domainNames, domainStart, domainState } from '../libvirt/domain.js';
import { parseDomainXml, readDomainXml } from '../libvirt/xml/domain-parse.js';
import { Virsh } from '../libvirt/virsh.js';
import { libvirtUp } from '../libvirt/libvirt-ready.js';
import type { Vm } from '@quantix/proto/v1/vm.js';
import { noteStateChange, readVm } from './vm-read.js';
import { setMetadata } from './vm-hotplug.js';
import { vmTarget } from './vm-lifecycle.js';
import { validateVmSpec } from './vm-spec-validate.js';

/** A VM to start at boot, as its metadata says. */
export interface AutostartEntry {
  uuid: string;
  name: string;
  order: number;
  delaySeconds: number;
}

/** The boot sequence: lowest order first, equal orders by name. */
export function autostartSequence(entries: readonly AutostartEntry[]): AutostartEntry[] {
  return [...entries].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** The VMs of this host whose persistent definition has autostart enabled. */
export async function autostartEntries(virsh: Virsh): Promise<AutostartEntry[]> {
  const entries: AutostartEntry[] = [];
  for (const name of await domainNames(virsh)) {
    try {
      const d = readDomainXml(await domainDumpXml(virsh, name, true));
      const a = d.meta.autostart;
      if (a.enabled) entries.push({ uuid: d.uuid, name: d.name, order: a.order, delaySeconds: a.delaySeconds });
    } catch (err) {
      log.warn('autostart: cannot read VM', { vm: name, error: Virsh.message(err) });
    }
  }
  return autostartSequence(entries);
}

export interface AutostartOptions {
  virsh: Virsh;
  /** AgentConfig.autostartMarker. */
  marker: string;
  /** The file with this boot's id (tests point it elsewhere). */
  bootIdFile?: string;
  /** How long to wait for libvirtd to answer before giving up for this boot. */
  libvirtWaitMs?: number;
  signal?: AbortSignal;
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/**
 * Starts the autostart VMs once per host boot; returns the names it started, in order. A VM that
 * fails to start is logged and skipped: it never holds back the others.
 */
export async function runAutostart(opts: AutostartOptions): Promise<string[]> {
  const { virsh, signal } = opts;
  const bootId = (await readFile(opts.bootIdFile ?? BOOT_ID, 'utf8')).trim();
  const { marker } = opts;
  const last = await readFile(marker, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (last === bootId) {
    log.info('autostart: already done in this boot', { marker });
    return [];
  }
  if (!(await libvirtUp(virsh, opts.libvirtWaitMs ?? 300_000, signal))) {
    log.error('autostart: libvirt did not answer; no VM was started');
    return [];
  }
  // Remembered before starting anything: an agent restarted later in this boot must not start
  // again the VMs an operator has shut down since.
  await mkdir(dirname(marker), { recursive: true, mode: 0o755 });
  await writeFileAtomic(marker, `${bootId}\n`, 0o644);
  const started: string[] = [];
  const sequence = await autostartEntries(virsh);
  log.info('autostart: starting VMs', { vms: sequence.map((v) => v.name) });
  for (const [i, vm] of sequence.entries()) {
    if (signal?.aborted) break;
    try {
      if ((await domainState(virsh, vm.uuid)) !== DomainState.Shutoff) continue;
      await domainStart(virsh, vm.uuid);
      noteStateChange(vm.uuid);
      started.push(vm.name);
      log.info('autostart: started VM', { vm: vm.name, order: vm.order });
    } catch (err) {
      log.error('autostart: VM did not start', { vm: vm.name, error: Virsh.message(err) });
      continue;
    }
    if (vm.delaySeconds && i < sequence.length - 1) {
      await sleep(vm.delaySeconds * 1000, undefined, { signal }).catch(() => undefined);
    }
  }
  log.info('autostart: done', { started });
  return started;
}

/**
 * Sets whether VM `id` starts at boot, its order and delay — in any state: only the metadata of
 * its live and persistent definition changes.
 */
export async function setAutostart(
  virsh: Virsh,
  id: string,
  a: { autostart: boolean; order: number; delaySeconds: number },
): Promise<Vm> {
  const t = await vmTarget(virsh, id);
  const p = parseDomainXml(await domainDumpXml(virsh, t.uuid, true));
  validateVmSpec({ ...p.spec, autostart: a.autostart, autostartOrder: a.order, autostartDelaySeconds: a.delaySeconds });
  await setMetadata(virsh, t, (spec) => {
    spec.autostart = a.autostart;
    spec.autostartOrder = a.order;
    spec.autostartDelaySeconds = a.delaySeconds;
  });
  return readVm(virsh, t.uuid);
}
