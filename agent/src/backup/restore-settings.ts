// A whole-VM restore over the original (#24): after its disks, the shut-off VM gets back the vCPUs
// and memory of the backup's own domain XML and the UEFI variables and TPM state stored with the
// point (each checked against its checksum before anything changes). Everything else of its
// current definition (name, NICs, devices) stays as it is now.
import { chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FirmwareState, VmSpec } from '@quantix/proto/v1/vm.js';
import { domainDumpXml } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import type { Volumes } from '../storage/volumes.js';
import { TPM_STATE_FILE, writeFirmwareState } from '../vm/firmware-state.js';
import { tpmStateDir } from '../vm/tpm.js';
import { updateVm } from '../vm/vm-define.js';
import { backupDir, DOMAIN_XML, readBackupFirmware, type BackupManifest } from './backup-store.js';

export interface BackupSettings {
  /** The VM's definition at the point (from the backup's domain.xml). */
  spec: VmSpec;
  firmware: FirmwareState;
}

export async function readBackupSettings(pool: PoolRecord, m: BackupManifest): Promise<BackupSettings> {
  const xml = await readFile(join(backupDir(pool, m.vm.uuid, m.id), DOMAIN_XML), 'utf8');
  return { spec: parseDomainXml(xml).spec, firmware: await readBackupFirmware(pool, m) };
}

/** Puts the point's vCPUs, memory and firmware state back on shut-off VM `uuid`; returns what changed. */
export async function restoreSettings(
  deps: { virsh: Virsh; volumes: Volumes },
  uuid: string,
  s: BackupSettings,
): Promise<string[]> {
  const restored: string[] = [];
  const now = parseDomainXml(await domainDumpXml(deps.virsh, uuid, true)).spec;
  const b = s.spec;
  const vcpus = now.sockets !== b.sockets || now.cores !== b.cores || now.maxVcpus !== b.maxVcpus;
  const memory = now.memoryMib !== b.memoryMib || now.maxMemoryMib !== b.maxMemoryMib;
  if (vcpus || memory) {
    await updateVm(deps.virsh, deps.volumes, uuid, {
      ...now,
      uuid,
      sockets: b.sockets,
      cores: b.cores,
      maxVcpus: b.maxVcpus,
      memoryMib: b.memoryMib,
      maxMemoryMib: b.maxMemoryMib,
    });
    if (vcpus) restored.push('vcpus');
    if (memory) restored.push('memory');
  }
  const after = parseDomainXml(await domainDumpXml(deps.virsh, uuid, true));
  if (s.firmware.nvram.length && after.nvramPath) {
    await replaceFile(after.nvramPath, s.firmware.nvram);
    restored.push('nvram');
  }
  if (s.firmware.tpmState.length && after.spec.tpm) {
    const file = join(tpmStateDir(uuid), TPM_STATE_FILE);
    if (await stat(dirname(file)).catch(() => undefined)) await replaceFile(file, s.firmware.tpmState);
    // A VM whose TPM never started has no state dir: made as for a new VM (owner, modes).
    else await writeFirmwareState(uuid, after.spec, { nvram: Buffer.alloc(0), tpmState: s.firmware.tpmState });
    restored.push('tpm');
  }
  return restored;
}

/** Writes beside and renames over `path`, keeping its owner and mode (swtpm's user, libvirt's labels). */
async function replaceFile(path: string, data: Buffer): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  const temp = `${path}.qx-restore`;
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(temp, data, { mode: st ? st.mode & 0o777 : 0o600 });
    if (st) await chown(temp, st.uid, st.gid);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
