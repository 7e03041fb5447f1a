// TPM 2.0 per VM: libvirt runs swtpm for it; its state lives in libvirt's directory for the VM
// (/var/lib/libvirt/swtpm/<uuid>) and is removed with the VM (`virsh undefine --tpm`).
import { existsSync } from 'node:fs';
import { failedPrecondition } from '../errors.js';

const SWTPM = ['/usr/bin/swtpm', '/usr/bin/swtpm_setup'];
export const SWTPM_STATE_DIR = '/var/lib/libvirt/swtpm';

/** swtpm and swtpm_setup (Debian's swtpm + swtpm-tools) are installed. */
export function tpmAvailable(): boolean {
  return SWTPM.every((p) => existsSync(p));
}

/** Throws FAILED_PRECONDITION naming the packages unless swtpm is installed. */
export function requireTpm(): void {
  if (!tpmAvailable()) throw failedPrecondition('a TPM needs swtpm on this host (the swtpm and swtpm-tools packages)');
}

/** Where libvirt keeps VM `uuid`'s TPM state. */
export function tpmStateDir(uuid: string): string {
  return `${SWTPM_STATE_DIR}/${uuid}`;
}

/** The <tpm> device: TPM 2.0 on the CRB interface (what Windows 11 expects), emulated by swtpm. */
export const TPM_NODE = { '@model': 'tpm-crb', backend: { '@type': 'emulator', '@version': '2.0' } };
