// Where UEFI firmware lives on this host (Debian's ovmf package) and where each VM's NVRAM goes.
import { existsSync } from 'node:fs';
import { failedPrecondition } from '../errors.js';

const PAIRS = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
] as const;
const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';

/** OVMF code + vars template and the per-VM NVRAM path (libvirt copies the template on first start). */
export function ovmfFor(uuid: string): { code: string; varsTemplate: string; nvram: string } {
  const pair = PAIRS.find(([code, vars]) => existsSync(code) && existsSync(vars));
  if (!pair) throw failedPrecondition('UEFI firmware is not installed on this host (the ovmf package)');
  return { code: pair[0], varsTemplate: pair[1], nvram: `${NVRAM_DIR}/${uuid}_VARS.fd` };
}
