// Linux interface names (bridges, NICs, veths) as they may reach `ip` and libvirt XML:
// 1–15 characters of letters, digits, "_ . -", not starting with "." or "-".
import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors.js';

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/** Throws INVALID_ARGUMENT naming `field` unless `value` is a safe interface name. */
export function validateInterfaceName(field: string, value: string): string {
  if (!value) throw invalidArgument(field, 'is required');
  if (!IFNAME.test(value)) {
    throw invalidArgument(
      field,
      `"${value}" is not a valid interface name: 1–15 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    );
  }
  return value;
}

/** The bridge name used when the spec leaves it empty: "qx-<name>", or "qx-<hash>" when too long. */
export function deriveBridgeName(networkName: string): string {
  const plain = `qx-${networkName}`;
  if (IFNAME.test(plain)) return plain;
  return `qx-${createHash('sha256').update(networkName).digest('hex').slice(0, 12)}`;
}
