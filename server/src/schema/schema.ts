// A tiny schema language for REST bodies and DTOs: one definition gives the TypeScript type
// (Infer), the OpenAPI/JSON Schema (toJsonSchema) and request validation (validate.ts).

export type JsonSchema = Record<string, unknown>;

export type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'array' | 'object' | 'any' | 'record';

/** A schema node; T is the TypeScript type it describes (phantom). */
export interface Schema<T = unknown> {
  readonly kind: Kind;
  readonly opts: Opts;
  readonly optional: boolean;
  readonly nullable: boolean;
  /** Named schemas become OpenAPI components (`#/components/schemas/<name>`). */
  readonly name?: string;
  readonly items?: Schema;
  readonly props?: Record<string, Schema>;
  readonly values?: readonly string[];
  readonly _type?: T;
}

interface Opts {
  description?: string;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  maxItems?: number;
  /** A rule beyond the pattern, as a sentence naming what is wrong (validation only). */
  problem?: (value: string) => string | undefined;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function node<T>(kind: Kind, opts: Opts = {}, extra: Partial<Schema> = {}): Schema<T> {
  return { kind, opts, optional: false, nullable: false, ...extra } as Schema<T>;
}

export const str = (opts: Opts = {}): Schema<string> => node('string', opts);
export const int = (opts: Opts = {}): Schema<number> => node('integer', opts);
export const num = (opts: Opts = {}): Schema<number> => node('number', opts);
export const bool = (opts: Opts = {}): Schema<boolean> => node('boolean', opts);
export const any = (opts: Opts = {}): Schema<unknown> => node('any', opts);
export const oneOf = <const V extends string>(values: readonly V[], opts: Opts = {}): Schema<V> =>
  node('enum', opts, { values });
export const arr = <T>(items: Schema<T>, opts: Opts = {}): Schema<T[]> => node('array', opts, { items });
export const record = <T>(items: Schema<T>, opts: Opts = {}): Schema<Record<string, T>> =>
  node('record', opts, { items });

type Props = Record<string, Schema>;
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K]['optional'] extends true ? K : never }[keyof P];
type RequiredKeys<P extends Props> = Exclude<keyof P, OptionalKeys<P>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

export const obj = <P extends Props>(props: P, opts: Opts = {}): Schema<ObjectOf<P>> => node('object', opts, { props });

/** The property may be absent. */
export const opt = <T>(s: Schema<T>): Schema<T> & { optional: true } => ({ ...s, optional: true }) as never;
/** The value may be null. */
export const orNull = <T>(s: Schema<T>): Schema<T | null> => ({ ...s, nullable: true }) as never;
/** Names a schema so OpenAPI lists it once under components. */
export const named = <T>(name: string, s: Schema<T>): Schema<T> => ({ ...s, name });

/** JSON Schema (OpenAPI 3.1 dialect); named sub-schemas become $refs and are collected in `out`. */
export function toJsonSchema(s: Schema, out: Record<string, JsonSchema>, top = true): JsonSchema {
  if (s.name && !top) {
    if (!out[s.name]) {
      out[s.name] = {};
      out[s.name] = toJsonSchema(s, out, true);
    }
    const ref = { $ref: `#/components/schemas/${s.name}` };
    return s.nullable ? { oneOf: [ref, { type: 'null' }] } : ref;
  }
  const o = s.opts;
  const base: JsonSchema = {};
  if (o.description) base.description = o.description;
  switch (s.kind) {
    case 'string':
      Object.assign(base, { type: 'string' }, pick(o, ['minLength', 'maxLength', 'pattern', 'format']));
      break;
    case 'integer':
    case 'number':
      Object.assign(base, { type: s.kind });
      if (o.min !== undefined) base.minimum = o.min;
      if (o.max !== undefined) base.maximum = o.max;
      break;
    case 'boolean':
      base.type = 'boolean';
      break;
    case 'enum':
      Object.assign(base, { type: 'string', enum: [...(s.values ?? [])] });
      break;
    case 'array':
      Object.assign(base, { type: 'array', items: toJsonSchema(s.items!, out, false) });
      if (o.maxItems !== undefined) base.maxItems = o.maxItems;
      break;
    case 'record':
      Object.assign(base, { type: 'object', additionalProperties: toJsonSchema(s.items!, out, false) });
      break;
    case 'object': {
      const props = s.props ?? {};
      base.type = 'object';
      base.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toJsonSchema(v, out, false)]));
      const required = Object.entries(props)
        .filter(([, v]) => !v.optional)
        .map(([k]) => k);
      if (required.length) base.required = required;
      base.additionalProperties = false;
      break;
    }
    case 'any':
      break;
  }
  if (s.nullable && base.type) base.type = [base.type, 'null'];
  return base;
}

function pick(o: Opts, keys: (keyof Opts)[]): Partial<Opts> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
