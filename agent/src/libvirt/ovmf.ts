// Where UEFI firmware lives on this host (Debian's ovmf package) and where each VM's NVRAM goes.
// Secure Boot uses the .ms pair: SMM-enforcing code and variables with Microsoft's keys enrolled.
import { existsSync } from 'node:fs';
import { failedPrecondition } from '../errors.js';

const PAIRS = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
] as const;
const SECURE_PAIR = ['/usr/share/OVMF/OVMF_CODE_4M.ms.fd', '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'] as const;
const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';

/** OVMF code + vars template and the per-VM NVRAM path (libvirt copies the template on first start). */
export function ovmfFor(
  uuid: string,
  secureBoot = false,
): { code: string; varsTemplate: string; nvram: string; secure: boolean } {
  const pair = secureBoot ? secureBootPair() : PAIRS.find(([code, vars]) => existsSync(code) && existsSync(vars));
  if (!pair) throw failedPrecondition('UEFI firmware is not installed on this host (the ovmf package)');
  return { code: pair[0], varsTemplate: pair[1], nvram: `${NVRAM_DIR}/${uuid}_VARS.fd`, secure: secureBoot };
}

function secureBootPair(): readonly [string, string] {
  if (!secureBootAvailable()) {
    throw failedPrecondition(
      'Secure Boot needs OVMF with Microsoft keys on this host (OVMF_CODE_4M.ms.fd, the ovmf package)',
    );
  }
  return SECURE_PAIR;
}

/** OVMF's Secure Boot build with Microsoft's keys is installed. */
export function secureBootAvailable(): boolean {
  return SECURE_PAIR.every((p) => existsSync(p));
}
