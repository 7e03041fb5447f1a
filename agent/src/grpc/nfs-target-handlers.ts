// BackupTargetService: the server opens an NFS backup target on this host before using it
// (agent/src/backup/nfs-mounts.ts mounts it and reports its capacity).
import type { BackupTargetServiceServer } from '@quantix/proto/v1/nfs-target.js';
import type { AgentContext } from '../context.js';
import { nfsMountsOf } from '../backup/nfs-mounts.js';
import { unary } from './unary.js';

export function nfsTargetHandlers(ctx: AgentContext): BackupTargetServiceServer {
  const nfs = nfsMountsOf(ctx);
  return {
    openNfsTarget: unary((req) => nfs.open(req)),
  };
}
