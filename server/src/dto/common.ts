// DTOs shared by every resource: the error body, ids, timestamps, pagination query.
import { bool, int, named, obj, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import { OBJECT_NAME_MAX_LENGTH, OBJECT_NAME_PATTERN, objectNameProblem } from '@quantix/proto/names/object-name.js';

/** Every error reply: `{ error: { message, field? } }`; `field` names the offending input. */
export const ErrorDto = named(
  'ErrorDto',
  obj({
    error: obj({
      message: str({ description: 'A sentence for the user, naming the object at fault.' }),
      field: opt(str({ description: 'The body/query field at fault, e.g. "disks[0].sizeBytes".' })),
    }),
  }),
);
export type ErrorDto = Infer<typeof ErrorDto>;

/** A name that reaches virsh, a path or XML (VMs, pools, volumes, networks): the agent's own rule. */
export const objectName = (
  description = 'letters, digits, ". _ -"; at most 63 characters; not only digits, not shaped like a UUID',
) =>
  str({
    minLength: 1,
    maxLength: OBJECT_NAME_MAX_LENGTH,
    pattern: OBJECT_NAME_PATTERN,
    problem: objectNameProblem,
    description,
  });

/** ISO-8601 timestamp. */
export const timestamp = () => str({ format: 'date-time' });

/** Query strings arrive as strings: numbers are passed as decimal text. */
/** Paging of a list, newest first (other list queries add their filters to these). */
export const limitProps = {
  limit: opt(str({ pattern: '^[0-9]{1,4}$', description: 'at most this many (default 100, max 1000)' })),
  before: opt(str({ description: 'only entries older than this id (paging)' })),
};
export const LimitQuery = obj(limitProps);

export const HealthDto = named(
  'HealthDto',
  obj({
    status: str(),
    version: str(),
    uptimeSeconds: int(),
    store: str({
      description: 'where the configuration lives: embedded (this server) or etcd (shared by several servers)',
    }),
    leader: bool({
      description: 'this server runs host connections, reconcilers and schedules (one server of an etcd control plane)',
    }),
    stale: opt(
      str({ description: 'why writes are refused and reads may be stale (etcd without quorum); absent when healthy' }),
    ),
  }),
);
export type HealthDto = Infer<typeof HealthDto>;
