// Validates untrusted input (request bodies, query strings) against a schema.ts schema; the
// first problem becomes a BadRequest naming the field, e.g. "disks[0].sizeBytes".
import { badRequest } from '../errors.js';
import type { Schema } from './schema.js';

/** Returns the value typed as T, or throws a 400 that names the offending field. */
export function validate<T>(schema: Schema<T>, value: unknown, path = ''): T {
  check(schema, value, path);
  return value as T;
}

function fail(path: string, problem: string): never {
  const field = path || 'body';
  throw badRequest(`${field}: ${problem}`, field);
}

function check(s: Schema, v: unknown, path: string): void {
  if (v === null && s.nullable) return;
  const o = s.opts;
  switch (s.kind) {
    case 'any':
      return;
    case 'string':
      if (typeof v !== 'string') fail(path, 'must be a string');
      if (o.minLength !== undefined && v.length < o.minLength)
        fail(path, o.minLength === 1 ? 'must not be empty' : `must be at least ${o.minLength} characters`);
      if (o.maxLength !== undefined && v.length > o.maxLength) fail(path, `must be at most ${o.maxLength} characters`);
      if (o.problem) {
        const problem = o.problem(v);
        if (problem) fail(path, problem);
      }
      if (o.pattern && !new RegExp(o.pattern, 'u').test(v)) fail(path, o.description ?? `must match ${o.pattern}`);
      return;
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'must be a number');
      if (s.kind === 'integer' && !Number.isSafeInteger(v)) fail(path, 'must be a whole number');
      if (o.min !== undefined && v < o.min) fail(path, `must be at least ${o.min}`);
      if (o.max !== undefined && v > o.max) fail(path, `must be at most ${o.max}`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(path, 'must be true or false');
      return;
    case 'enum':
      if (typeof v !== 'string' || !s.values!.includes(v)) fail(path, `must be one of ${s.values!.join(', ')}`);
      return;
    case 'array':
      if (!Array.isArray(v)) fail(path, 'must be a list');
      if (o.maxItems !== undefined && v.length > o.maxItems) fail(path, `must have at most ${o.maxItems} entries`);
      v.forEach((item, i) => check(s.items!, item, `${path}[${i}]`));
      return;
    case 'record':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
      for (const [k, item] of Object.entries(v)) check(s.items!, item, join(path, k));
      return;
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
      const props = s.props ?? {};
      for (const key of Object.keys(v)) if (!(key in props)) fail(join(path, key), 'is not a known field');
      for (const [key, ps] of Object.entries(props)) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined) {
          if (!ps.optional) fail(join(path, key), 'is required');
          continue;
        }
        check(ps, item, join(path, key));
      }
      return;
    }
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
