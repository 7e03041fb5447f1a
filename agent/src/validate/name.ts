// Names that reach virsh, file paths or XML (VMs, pools, volumes, networks, snapshots):
// letters, digits, ". _ -", 1–63 characters, not starting with "." or "-" (no hidden files,
// no option-like arguments, no path traversal).
import { invalidArgument } from '../errors.js';

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

/** Throws INVALID_ARGUMENT naming `field` unless `value` is a safe object name. */
export function validateName(field: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(field, 'is required');
  if (value.length > 63) throw invalidArgument(field, `"${value.slice(0, 20)}…" is longer than 63 characters`);
  if (!NAME.test(value) || value === '.' || value.includes('..')) {
    throw invalidArgument(
      field,
      `"${value}" is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter, digit or "_"`,
    );
  }
  return value;
}

/** True for a canonical UUID (what libvirt reports). */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
