// Reading values out of a hostile OVF descriptor: the error every OVF check throws, range-checked
// integers, sizes in allocation units and MAC addresses. Pure; used by the ovf-*.ts readers.
import { AgentError, ErrorCode } from '../errors.js';
import { unitBytes } from './ovf-units.js';

export function ovfError(message: string, field = 'ovf'): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `OVF descriptor: ${message}`, field);
}

export function integer(raw: string, field: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw ovfError(`${field} "${raw.slice(0, 40)}" is not an integer`, field);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw ovfError(`${field} ${raw.slice(0, 40)} is out of range (${min}..${max})`, field);
  }
  return n;
}

export function bytesOf(value: string, units: string, field: string, max: number): number {
  const factor = unitBytes(units);
  if (factor === undefined) throw ovfError(`${field}: unknown allocation units "${units.slice(0, 40)}"`, field);
  const n = integer(value, field, 0, Number.MAX_SAFE_INTEGER);
  const bytes = n * factor;
  if (!Number.isSafeInteger(bytes) || bytes > max)
    throw ovfError(`${field} ${value} ${units} is absurdly large`, field);
  return bytes;
}

export function normaliseMac(raw: string): string | undefined {
  const hex = raw.toLowerCase().replace(/[:\-.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}
