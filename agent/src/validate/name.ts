// Names that reach virsh, file paths or XML (VMs, pools, volumes, networks, snapshots): the one
// rule (proto's names/object-name.ts, shared with the server and UI) enforced at the agent's door.
import { objectNameProblem } from '@quantix/proto/names/object-name.js';
import { invalidArgument } from '../errors.js';

/** Throws INVALID_ARGUMENT naming `field` unless `value` is a safe object name. */
export function validateName(field: string, value: string): string {
  if (typeof value !== 'string') throw invalidArgument(field, 'is required');
  const problem = objectNameProblem(value);
  if (problem) throw invalidArgument(field, problem);
  return value;
}

/** True for a canonical UUID (what libvirt reports). */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
