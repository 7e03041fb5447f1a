// The state a VM keeps outside its disks: UEFI variables (NVRAM: boot entries, enrolled Secure Boot
// keys) and the TPM's persistent state (swtpm's permall: keys sealed by the guest, e.g. BitLocker).
// Read from a shut-off VM and written for a VM about to be defined with it: what a cold migration
// carries, so the VM boots on the other host as it did on this one.
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Firmware, type FirmwareState, type VmSpec } from '@quantix/proto/v1/vm.js';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { DomainState, domainDumpXml } from '../libvirt/domain.js';
import { ovmfFor } from '../libvirt/ovmf.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { Virsh } from '../libvirt/virsh.js';
import { run } from '../exec/run.js';
import { SWTPM_STATE_DIR, tpmStateDir } from './tpm.js';
import { vmTarget } from './vm-lifecycle.js';

/** OVMF's variable stores are 128 KiB (2M build) and 528 KiB (4M build); room for larger ones. */
const MAX_NVRAM_BYTES = 8 * 2 ** 20;
/** swtpm's permall is tens of KiB. */
const MAX_TPM_BYTES = 2 ** 20;
/** Inside the VM's TPM state dir: the one file swtpm keeps for a TPM 2.0. */
export const TPM_STATE_FILE = 'tpm2/tpm2-00.permall';

/** The firmware state of shut-off VM `id` (empty fields for what it does not have). */
export async function readFirmwareState(virsh: Virsh, id: string): Promise<FirmwareState> {
  const t = await vmTarget(virsh, id);
  if (t.state !== DomainState.Shutoff) {
    throw failedPrecondition(`VM ${t.name} is not shut off: its firmware state is read only from a stopped VM`);
  }
  return readFirmwareFiles(t.uuid, await domainDumpXml(virsh, t.uuid, true));
}

/**
 * The firmware state files of VM `uuid` whose inactive domain XML is `inactiveXml`, whatever its
 * state (a backup of a running VM reads them at its point in time).
 */
export async function readFirmwareFiles(uuid: string, inactiveXml: string): Promise<FirmwareState> {
  const { nvramPath, spec } = parseDomainXml(inactiveXml);
  return {
    nvram: nvramPath ? await readIfPresent(nvramPath) : Buffer.alloc(0),
    tpmState: spec.tpm ? await readIfPresent(join(tpmStateDir(uuid), TPM_STATE_FILE)) : Buffer.alloc(0),
  };
}

/**
 * Writes `state` where VM `uuid`, about to be defined from `spec`, will find it (libvirt then
 * neither copies a fresh variable store nor manufactures a new TPM). Refuses state the spec has no
 * place for, oversized state, and state already there (never overwritten). Returns its undo.
 */
export async function writeFirmwareState(
  uuid: string,
  spec: VmSpec,
  state: FirmwareState | undefined,
): Promise<() => Promise<void>> {
  const nvram = state?.nvram ?? Buffer.alloc(0);
  const tpm = state?.tpmState ?? Buffer.alloc(0);
  if (nvram.length && spec.firmware !== Firmware.FIRMWARE_UEFI) {
    throw invalid('firmware.nvram', 'UEFI variables given for a VM without UEFI firmware');
  }
  if (tpm.length && !spec.tpm) throw invalid('firmware.tpmState', 'TPM state given for a VM without a TPM');
  if (nvram.length > MAX_NVRAM_BYTES) throw invalid('firmware.nvram', `larger than ${MAX_NVRAM_BYTES} bytes`);
  if (tpm.length > MAX_TPM_BYTES) throw invalid('firmware.tpmState', `larger than ${MAX_TPM_BYTES} bytes`);
  const written: string[] = [];
  const undo = async () => {
    for (const p of written.reverse()) await rm(p, { recursive: true, force: true });
  };
  try {
    if (nvram.length) {
      const path = ovmfFor(uuid, spec.secureBoot).nvram;
      await mkdir(dirname(path), { recursive: true });
      await writeNew(path, nvram);
      written.push(path);
    }
    if (tpm.length) {
      const dir = tpmStateDir(uuid);
      // As libvirt makes it at its first TPM: absent on a host that never ran one.
      await mkdir(SWTPM_STATE_DIR, { recursive: true, mode: 0o711 });
      await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw failedPrecondition(`TPM state for VM ${uuid} already exists on this host`);
        throw err;
      });
      written.push(dir);
      const file = join(dir, TPM_STATE_FILE);
      await mkdir(dirname(file), { mode: 0o700 });
      await writeNew(file, tpm);
      await ownBySwtpmUser([dir, dirname(file), file]);
    }
    return undo;
  } catch (err) {
    await undo();
    throw err;
  }
}

function invalid(field: string, why: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `${field}: ${why}`, field);
}

async function readIfPresent(path: string): Promise<Buffer> {
  return readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0); // never started: libvirt makes it at first start
    throw err;
  });
}

/** Creates `path` with `data`; never replaces a file, and leaves no part of one on failure. */
async function writeNew(path: string, data: Buffer): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode: 0o600 }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw failedPrecondition(`${path} already exists on this host`);
    await rm(path, { force: true });
    throw err;
  });
}

/**
 * libvirt runs swtpm as `tss` when that user exists (else root) and makes only the top directory
 * its own: the state written here must be writable by that user too.
 */
async function ownBySwtpmUser(paths: string[]): Promise<void> {
  const entry = await run('getent', ['passwd', 'tss'], { timeoutMs: 5_000 }).then(
    (r) => r.stdout,
    () => '',
  );
  const [, , uid, gid] = entry.trim().split(':');
  if (!uid || !gid) return;
  for (const p of paths) await chown(p, Number(uid), Number(gid));
}
