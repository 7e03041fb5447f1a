// Secure Boot and TPM fields of a VmSpec: what they need (UEFI and q35 for Secure Boot) checked
// before anything is defined, every problem INVALID_ARGUMENT naming the field.
import { Firmware, type VmSpec } from '@quantix/proto/v1/vm.js';
import { invalidArgument } from '../errors.js';

/** The machine type to define: q35 when Secure Boot asks for it and none was given. */
export function validateBootSecurity(spec: Pick<VmSpec, 'secureBoot' | 'firmware' | 'machine'>): { machine: string } {
  if (!spec.secureBoot) return { machine: spec.machine };
  if (spec.firmware !== Firmware.FIRMWARE_UEFI) throw invalidArgument('spec.secure_boot', 'needs UEFI firmware');
  const machine = spec.machine || 'q35';
  // libvirt allows the Secure Boot firmware (SMM) only on q35 (pc-q35-*).
  if (!(machine === 'q35' || machine.includes('-q35'))) {
    throw invalidArgument('spec.secure_boot', `needs the q35 machine type, not "${machine}"`);
  }
  return { machine };
}
