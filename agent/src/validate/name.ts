// Names that reach virsh, file paths or XML (VMs, pools, volumes, networks, snapshots):
// letters, digits, ". _ -", 1–63 characters, not starting with "." or "-" (no hidden files,
// no option-like arguments, no path traversal), not all digits and not shaped like a UUID
// (virsh reads such an argument as a domain ID or a UUID before it tries it as a name).
import { invalidArgument } from '../errors.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

/**
 * True when libvirt's UUID parser would take `value` for a UUID: 32 hex digits with "-"
 * anywhere between them (https://gitlab.com/libvirt/libvirt/-/blob/master/src/util/viruuid.c,
 * virUUIDParse). Slightly broader than the parser (it also counts a "-" inside a digit pair).
 */
function isUuidShaped(value: string): boolean {
  return /^[0-9a-f]{32}$/i.test(value.replaceAll('-', ''));
}

/**
 * Throws INVALID_ARGUMENT naming `field` unless `value` is a safe object name. The same rules
 * hold for every kind of object, although only domains have numeric IDs: virsh resolves a domain
 * argument by ID, then UUID, then name, so a VM named "3" would address the domain with ID 3
 * (https://gitlab.com/libvirt/libvirt/-/blob/master/tools/virsh-util.c, virshLookupDomainInternal).
 */
export function validateName(field: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(field, 'is required');
  if (value.length > 63) throw invalidArgument(field, `"${value.slice(0, 20)}…" is longer than 63 characters`);
  if (!NAME.test(value) || value === '.' || value.includes('..')) {
    throw invalidArgument(
      field,
      `"${value}" is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter, digit or "_"`,
    );
  }
  if (/^[0-9]+$/.test(value)) {
    throw invalidArgument(field, `"${value}" is not a valid name: a name of only digits would be read by virsh as a domain ID`);
  }
  if (isUuidShaped(value)) {
    throw invalidArgument(field, `"${value}" is not a valid name: a name shaped like a UUID would be read by virsh as a UUID`);
  }
  return value;
}

/** True for a canonical UUID (what libvirt reports). */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
