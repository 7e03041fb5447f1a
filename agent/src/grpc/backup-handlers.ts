// BackupService: backups of this host's VMs into its pools or another host's (agent/src/backup/),
// and receiving another host's; CreateBackup streams progress and its job keeps running when the
// call drops (CancelBackup stops it).
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { BackupProgress, BackupServiceServer, CreateBackupRequest } from '@quantix/proto/v1/backup.js';
import type { AgentContext } from '../context.js';
import { BackupJobs } from '../backup/backup-create.js';
import { BackupReceiver } from '../backup/backup-receive.js';
import { sendStoredBackup } from '../backup/backup-copy.js';
import { restoreBackup, restoreBackupDisk, restoreBackupOverVm } from '../backup/backup-restore.js';
import { nfsMountsOf, poolsWithNfs } from '../backup/nfs-mounts.js';
import {
  backedUpVms,
  backupMessage,
  deleteBackup,
  listManifests,
  validVmUuid,
  verifyBackup,
} from '../backup/backup-store.js';
import { toServiceError } from './status.js';
import { unary } from './unary.js';

export function backupHandlers(ctx: AgentContext): BackupServiceServer {
  // NFS targets (nfs-mounts.ts): the pool "nfs:<name>" is mounted around each call naming it.
  const nfs = nfsMountsOf(ctx);
  const withNfs = { ...ctx, pools: poolsWithNfs(ctx.pools, nfs) };
  const jobs = new BackupJobs(ctx.virsh, withNfs.pools, ctx);
  // VMs an agent killed mid-backup left on overlays go back onto their disks (backups wait for it).
  void jobs.recover();
  const receiver = new BackupReceiver(ctx);
  return {
    createBackup: (call: ServerWritableStream<CreateBackupRequest, BackupProgress>) => {
      let last = -1;
      const send = (p: BackupProgress) => {
        if (!call.cancelled && !call.writableEnded) call.write(p);
      };
      nfs
        .during(call.request.pool, () =>
          jobs.create(call.request, (percent) => {
            if (percent !== last) send({ percent: (last = percent), backup: undefined, prunedIds: [] });
          }),
        )
        .then(
          ({ backup, prunedIds }) => {
            send({ percent: 100, backup, prunedIds });
            if (!call.cancelled) call.end();
          },
          (err: unknown) => {
            if (!call.cancelled) call.emit('error', toServiceError(err));
          },
        );
    },
    cancelBackup: unary(async (req) => ({ cancelled: jobs.cancel(req.jobId) })),
    listBackups: unary(
      nfs.wrap(async (req) => {
        const pool = await withNfs.pools.activeRecord(req.pool);
        const vms = req.vmUuid ? [validVmUuid('vm_uuid', req.vmUuid)] : await backedUpVms(pool);
        const backups = [];
        for (const vm of vms) backups.push(...(await listManifests(pool, vm)).map((m) => backupMessage(pool, m)));
        return { backups };
      }),
    ),
    deleteBackup: unary(
      nfs.wrap(async (req) => {
        const pool = await withNfs.pools.activeRecord(req.pool);
        const deleted = await deleteBackup(pool, req.vmUuid, req.id, req.withDependents);
        if (!req.keepCheckpoints) await jobs.forgetCheckpoints(deleted);
        return { deletedIds: deleted.map((m) => m.id) };
      }),
    ),
    verifyBackup: unary(
      nfs.wrap(async (req) => verifyBackup(await withNfs.pools.activeRecord(req.pool), req.vmUuid, req.id)),
    ),
    restoreBackup: unary(nfs.wrap((req) => restoreBackup(withNfs, req))),
    restoreBackupOverVm: unary(nfs.wrap((req) => restoreBackupOverVm(withNfs, req))),
    restoreBackupDisk: unary(nfs.wrap((req) => restoreBackupDisk(withNfs, req))),
    sendBackup: unary((req, call) => {
      // The server gave up on the call (its task cancelled, or it went away): the stream stops.
      const abort = new AbortController();
      call.once('cancelled', () => abort.abort(new Error('the server cancelled the copy')));
      return nfs.during(req.pool, () => sendStoredBackup(withNfs, req, abort.signal));
    }),
    prepareBackupReceive: unary((req) => receiver.prepare(req)),
    receiveBackup: (call) => receiver.receive(call),
  };
}
