// NFS backup targets (#24): the vDC's NFS exports that agents mount to store backups, each with its
// capacity and the backups it holds by VM. A backup on one is addressed as pool "nfs:<name>" (the
// same layout as in a pool). Admins add and remove targets; anyone may see them (to choose one).
import { NFS_MAX_OPTIONS, NFS_OPTION_HELP, NFS_VERSIONS } from '@quantix/proto/names/nfs-target.js';
import { OBJECT_NAME_PATTERN, objectNameProblem } from '@quantix/proto/names/object-name.js';
import { arr, int, named, obj, oneOf, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { objectName, timestamp } from './common.js';

/** What a backup's `pool` reads for a backup on an NFS target. */
export const NFS_POOL_PREFIX = 'nfs:';

/** A backup target by name: a pool of the host, or "nfs:<name>" for an NFS target. */
export const backupPoolName = (description: string) =>
  str({
    minLength: 1,
    maxLength: 4 + 63,
    pattern: `^(?:${NFS_POOL_PREFIX})?${OBJECT_NAME_PATTERN.slice(1)}`,
    problem: (v) => objectNameProblem(v.startsWith(NFS_POOL_PREFIX) ? v.slice(NFS_POOL_PREFIX.length) : v),
    description,
  });

export const NfsTargetInputDto = named(
  'NfsTargetInputDto',
  obj({
    name: objectName('the target; its backups read pool "nfs:<name>"'),
    server: str({ minLength: 1, maxLength: 253, description: 'host name or IP address of the NFS server' }),
    exportPath: str({ minLength: 1, maxLength: 1024, description: 'the exported directory, e.g. /srv/backups' }),
    version: oneOf(NFS_VERSIONS, { description: 'NFS version (NFSv4 only: no rpcbind needed)' }),
    options: arr(str({ minLength: 1, maxLength: 40 }), {
      maxItems: NFS_MAX_OPTIONS,
      description: `extra mount options; ${NFS_OPTION_HELP}. Always: soft with bounded timeo/retrans, nosuid, nodev, noexec`,
    }),
  }),
);
export type NfsTargetInputDto = Infer<typeof NfsTargetInputDto>;

export const NfsTargetVmDto = obj({
  vmUuid: str(),
  vmName: str({ description: 'as named in its latest backup' }),
  points: int(),
  storedBytes: int(),
  latestAt: timestamp(),
});

export const NfsTargetDto = named(
  'NfsTargetDto',
  obj({
    id: str(),
    name: str(),
    pool: str({ description: 'what backups on it read as their pool: "nfs:<name>"' }),
    server: str(),
    exportPath: str(),
    version: oneOf(NFS_VERSIONS),
    options: arr(str()),
    createdAt: timestamp(),
    state: oneOf(['ok', 'error', 'no-host'] as const, {
      description: 'ok: mounted by hostName just now; error: see error; no-host: no host online to mount it',
    }),
    error: str({
      description: 'why it could not be mounted (server unreachable, export refused, permission); "" when ok',
    }),
    hostName: str({ description: 'the host that mounted it for these figures' }),
    capacityBytes: int(),
    availableBytes: int(),
    vms: arr(NfsTargetVmDto, { description: 'the VMs with backups on it' }),
  }),
);
export type NfsTargetDto = Infer<typeof NfsTargetDto>;

const target = '/api/v1/backup-targets/nfs/:id';

export const backupTargetOperations = [
  {
    id: 'listNfsBackupTargets',
    method: 'GET',
    path: '/api/v1/backup-targets/nfs',
    tag: 'backups',
    role: 'viewer',
    status: 200,
    response: arr(NfsTargetDto),
    summary:
      'The NFS backup targets, each mounted by an online host for its capacity and contents (a target that cannot be mounted says why)',
  },
  {
    id: 'createNfsBackupTarget',
    method: 'POST',
    path: '/api/v1/backup-targets/nfs',
    tag: 'backups',
    role: 'admin',
    body: NfsTargetInputDto,
    status: 201,
    response: NfsTargetDto,
    summary: 'Add an NFS export as a backup target; bad input is refused naming the field (options[i] for an option)',
  },
  {
    id: 'deleteNfsBackupTarget',
    method: 'DELETE',
    path: target,
    tag: 'backups',
    role: 'admin',
    status: 204,
    summary: 'Remove an NFS backup target (the backups on the export stay there); refused while a schedule uses it',
  },
] as const satisfies readonly Operation[];
