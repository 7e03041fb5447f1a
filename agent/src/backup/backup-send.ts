// The source side of a backup to another host: one ReceiveBackup stream to the target host's agent,
// over mutual TLS (its pinned certificate; our vDC agent certificate, which the server issued)
// carrying the ticket the target issued. The target answers with the VM's points there, takes the
// files in order and stores the point when the commit checks out. Writes wait while the stream's
// buffer is full (bounded memory); a cancel or a broken stream fails every pending write.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import {
  BackupServiceClient,
  type BackupReceipt,
  type BackupReceiptCommitted,
  type BackupRemoteTarget,
  type BackupUpload,
} from '@quantix/proto/v1/backup.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import type { AgentContext } from '../context.js';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { readAgentCertificate } from '../identity/agent-certificate.js';
import type { DiskOut } from './backup-pull.js';
import { parseManifest, type BackupManifest } from './backup-store.js';
import type { BackupTarget } from './backup-target.js';
import type { ChunkHash } from './chunk-sums.js';

/** Bytes per data message (well under both agents' gRPC message limit). */
export const PIECE_BYTES = 1024 * 1024;
/** How long the target may take to answer the open (it lists the VM's points there). */
const OPEN_TIMEOUT_MS = 60_000;

export interface RemoteTargetOptions {
  ctx: AgentContext;
  remote: BackupRemoteTarget;
  /** The pool on the target host (for messages: the ticket names it). */
  pool: string;
  backupId: string;
  /** A stored point sent unchanged (backup-copy.ts), not a backup being taken. */
  copy?: boolean;
  /** The checksum of the disks' chunks in the manifest sent at the end (chunkHashOf). */
  chunkHash: ChunkHash;
  signal: AbortSignal;
}

export async function openRemoteTarget(o: RemoteTargetOptions): Promise<BackupTarget> {
  const certPem = await readAgentCertificate(o.ctx.config.dataDir);
  if (!certPem) throw failedPrecondition('this host has no agent certificate from its vDC yet');
  const label = `pool ${o.pool} of host ${o.remote.address}`;
  const client = new BackupServiceClient(
    o.remote.address,
    pinnedCredentials(o.remote.certificatePem, { keyPem: o.ctx.identity.keyPem, certPem }),
    {
      'grpc.ssl_target_name_override': 'quantix-agent',
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_send_message_length': 4 * PIECE_BYTES,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
  );
  const call: ClientDuplexStream<BackupUpload, BackupReceipt> = client.receiveBackup();
  let failure: Error | undefined;
  const receipts: BackupReceipt[] = [];
  /** Waiters for a receipt or a drain; each hears the stream's failure. */
  const waiters = new Set<() => void>();
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of [...waiters]) w();
  };
  call.on('data', (r: BackupReceipt) => {
    receipts.push(r);
    for (const w of [...waiters]) w();
  });
  call.on('error', (err: Error & { details?: string }) =>
    fail(new AgentError(ErrorCode.Internal, `${label}: ${err.details ?? err.message}`)),
  );
  call.on('end', () => fail(new AgentError(ErrorCode.Internal, `${label}: the target ended the transfer`)));
  const onAbort = () => {
    fail(o.signal.reason instanceof Error ? o.signal.reason : new Error('cancelled'));
    call.cancel();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  const close = () => {
    o.signal.removeEventListener('abort', onAbort);
    call.cancel();
    client.close();
  };

  /** Resolves at the next receipt, drain or failure. */
  const wait = (event?: 'drain') =>
    new Promise<void>((resolve) => {
      const done = () => {
        waiters.delete(done);
        if (event) call.off(event, done);
        resolve();
      };
      waiters.add(done);
      if (event) call.on(event, done);
    });
  /** The next receipt, or the stream's failure. */
  const receipt = async (timeoutMs: number): Promise<BackupReceipt> => {
    const timer = setTimeout(() => fail(new AgentError(ErrorCode.Internal, `${label}: no answer`)), timeoutMs);
    try {
      while (!receipts.length && !failure) await wait();
      if (receipts.length) return receipts.shift()!;
      throw failure!;
    } finally {
      clearTimeout(timer);
    }
  };
  /** Sends one message; waits while the stream's buffer is full. */
  const send = async (msg: BackupUpload['msg']) => {
    if (failure) throw failure;
    if (!call.write({ msg })) await wait('drain');
    if (failure) throw failure;
  };
  /** A file's bytes in pieces; copied, as the caller reuses its buffers once this returns. */
  const append = async (file: string, data: Buffer) => {
    let at = 0;
    do {
      await send({ $case: 'data', value: { file, data: Buffer.from(data.subarray(at, at + PIECE_BYTES)) } });
      at += PIECE_BYTES;
    } while (at < data.length);
  };

  try {
    await send({
      $case: 'open',
      value: {
        ticket: o.remote.ticket,
        backupId: o.backupId,
        copy: o.copy ?? false,
        chunkHash: o.chunkHash,
      },
    });
    const first = await receipt(OPEN_TIMEOUT_MS);
    if (first.msg?.$case !== 'opened') throw new AgentError(ErrorCode.Internal, `${label}: unexpected answer`);
    const history: BackupManifest[] = first.msg.value.backups.map((b) => {
      // Only what the incremental base needs: id, checkpoint and the disks' targets.
      const m = parseManifest(
        JSON.stringify({
          format: 1,
          id: b.id,
          vm: { uuid: b.vmUuid, name: b.vmName },
          createdAt: b.createdAt,
          kind: b.parentId ? 'incremental' : 'full',
          parent: b.parentId || null,
          consistency: 'crash',
          checkpoint: b.checkpoint || null,
          disks: b.disks.map((d) => ({ ...d, chunkBytes: 0, sha256: [] })), // format 1: no sums needed
        }),
      );
      if (!m) throw new AgentError(ErrorCode.Internal, `${label}: point ${b.id} is not a valid backup`);
      return m;
    });
    return {
      label,
      localPool: undefined,
      history,
      abandonedIds: first.msg.value.abandonedIds,
      localPath: () => undefined,
      writeSmallFile: (file, data) => append(file, Buffer.from(data)),
      async openDisk(file): Promise<DiskOut> {
        return {
          label: `${file} (${label})`,
          sink: { append: (buf) => append(file, buf) },
          finish: async () => undefined,
          close: async () => undefined,
        };
      },
      async commit(manifest, retention) {
        await send({
          $case: 'commit',
          value: {
            manifestJson: JSON.stringify(manifest),
            keepLast: retention.last,
            keepDaily: retention.daily,
            keepWeekly: retention.weekly,
            keepMonthly: retention.monthly,
          },
        });
        call.end();
        // The target re-hashes what it stored before answering: as long as the largest disk takes.
        const last = await receipt(6 * 60 * 60_000);
        if (last.msg?.$case !== 'committed' || !last.msg.value.backup)
          throw new AgentError(ErrorCode.Internal, `${label}: unexpected answer to the commit`);
        const done: BackupReceiptCommitted = last.msg.value;
        close();
        return {
          backup: done.backup!,
          pruned: done.prunedIds.map((id, i) => ({ id, checkpoint: done.prunedCheckpoints[i] || null })),
        };
      },
      discard: async () => close(),
    };
  } catch (err) {
    close();
    throw err;
  }
}
