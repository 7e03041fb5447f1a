// The target side of a backup from another host: PrepareBackupReceive (the server) issues a
// one-time ticket for a VM, a pool and a source host; ReceiveBackup (that source's agent, its vDC
// agent certificate) writes the files into the backup's temp dir in the pool, hashing the disks
// as they arrive, and on commit checks the manifest against what arrived (names, sizes, every
// chunk's checksum, the parent being here) before renaming the point into place and applying
// retention. A stream that breaks or is cancelled leaves nothing (the temp dir goes; one left by a
// killed agent goes at the VM's next receive, which reports its id).
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type {
  BackupReceipt,
  BackupUpload,
  BackupUploadCommit,
  PrepareBackupReceiveRequest,
  PrepareBackupReceiveResponse,
} from '@quantix/proto/v1/backup.js';
import { createHash } from 'node:crypto';
import type { AgentContext } from '../context.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument } from '../errors.js';
import { agentHostIdOf } from '../identity/agent-certificate.js';
import { log } from '../log.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import { isNoSpace, targetFilledUp } from './backup-space.js';
import {
  backupMessage,
  chunkHashOf,
  diskSums,
  DOMAIN_XML,
  FIRMWARE_FILES,
  listManifests,
  makeTempDir,
  parseManifest,
  publishBackup,
  pruneBackups,
  removeTempDirs,
  tempBackupDir,
  tempBackupIds,
  type Staging,
  validBackupId,
  validVmUuid,
  type BackupManifest,
} from './backup-store.js';
import { smallFileMode } from './backup-target.js';
import { chunkHasher, type ChunkHash } from './chunk-sums.js';
import { fileSink, HashingWriter } from './qcow2-writer.js';
import { toServiceError } from '../grpc/status.js';

const TICKET_LIFETIME_MS = 10 * 60_000;
/** The files a backup may hold: domain.xml, <target>.qcow2, the firmware files. */
const DISK_FILE = /^[a-z]{2,3}[a-z0-9]{0,6}\.qcow2$/;
const SMALL_FILE_BYTES = 16 * 1024 * 1024;
const MAX_FILES = 64;
/** Messages read ahead of the writes (each up to 1 MiB). */
const READ_AHEAD = 8;

interface Ticket {
  ticket: string;
  pool: string;
  vmUuid: string;
  sourceHostId: string;
  expiresAt: number;
}

interface Incoming {
  writer: HashingWriter;
  close(): Promise<void>;
}

export class BackupReceiver {
  private readonly tickets = new Map<string, Ticket>();
  /** "pool/vm" of the receives running: one at a time per VM and pool. */
  private readonly busy = new Set<string>();

  constructor(private readonly ctx: AgentContext) {}

  async prepare(req: PrepareBackupReceiveRequest): Promise<PrepareBackupReceiveResponse> {
    validVmUuid('vm_uuid', req.vmUuid);
    if (!req.sourceHostId) throw invalidArgument('source_host_id', 'is required');
    if (req.sourceHostId === this.ctx.identity.hostId)
      throw invalidArgument('source_host_id', 'is this host: a local backup needs no ticket');
    await this.ctx.pools.activeRecord(req.pool);
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(ticket, {
      ticket,
      pool: req.pool,
      vmUuid: req.vmUuid,
      sourceHostId: req.sourceHostId,
      expiresAt: Date.now() + TICKET_LIFETIME_MS,
    });
    setTimeout(() => this.tickets.delete(ticket), TICKET_LIFETIME_MS).unref();
    return { ticket };
  }

  /** A ReceiveBackup call: its first message opens it with the ticket, then files, then the commit. */
  receive(call: ServerDuplexStream<BackupUpload, BackupReceipt>): void {
    const reader = messageReader(call);
    this.run(call, reader).catch((err: unknown) => {
      if (!call.cancelled) call.emit('error', toServiceError(err));
    });
  }

  private admit(call: ServerDuplexStream<BackupUpload, BackupReceipt>, ticket: string): Ticket {
    const given = Buffer.from(ticket);
    const found = [...this.tickets.values()].find((t) => {
      const expected = Buffer.from(t.ticket);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    const peer = raw ? agentHostIdOf(new X509Certificate(raw)) : undefined;
    if (!found || Date.now() > found.expiresAt)
      throw new AgentError(ErrorCode.PermissionDenied, 'unknown or expired backup ticket');
    if (peer !== found.sourceHostId)
      throw new AgentError(ErrorCode.PermissionDenied, "only the backup's source host may send it");
    this.tickets.delete(found.ticket);
    return found;
  }

  private async run(
    call: ServerDuplexStream<BackupUpload, BackupReceipt>,
    next: () => Promise<BackupUpload | undefined>,
  ): Promise<void> {
    const first = await next();
    if (first?.msg?.$case !== 'open') throw invalidArgument('open', 'a backup upload starts with its open message');
    const t = this.admit(call, first.msg.value.ticket);
    const id = validBackupId('backup_id', first.msg.value.backupId);
    const staging: Staging = first.msg.value.copy ? 'copy' : 'backup';
    const chunkHash = announcedChunkHash(first.msg.value.chunkHash);
    const key = `${t.pool}/${t.vmUuid}`;
    if (this.busy.has(key)) throw failedPrecondition(`a backup of VM ${t.vmUuid} is being received into ${t.pool}`);
    this.busy.add(key);
    const pool = await this.ctx.pools.activeRecord(t.pool);
    const files = new Map<string, Incoming>();
    let committed = false;
    try {
      // A copy leaves an unfinished backup's dir for the next backup, which drops its checkpoint.
      const abandonedIds = staging === 'copy' ? [] : await tempBackupIds(pool, t.vmUuid);
      await removeTempDirs(pool, t.vmUuid, staging === 'copy' ? ['copy'] : ['backup', 'copy']);
      const history = await listManifests(pool, t.vmUuid);
      const dir = await makeTempDir(pool, t.vmUuid, id, staging);
      call.write({
        msg: { $case: 'opened', value: { backups: history.map((m) => backupMessage(pool, m)), abandonedIds } },
      });
      for (;;) {
        const m = await next();
        if (!m?.msg) throw invalidArgument('commit', 'the upload ended before its commit');
        if (m.msg.$case === 'data') {
          const { file, data } = m.msg.value;
          let f = files.get(file);
          if (!f) {
            if (files.size >= MAX_FILES) throw invalidArgument('data.file', 'too many files');
            f = await openIncoming(join(dir, checkFileName(file)), smallFileMode(file), chunkHash);
            files.set(file, f);
          }
          if (!DISK_FILE.test(file) && f.writer.bytes + data.length > SMALL_FILE_BYTES)
            throw invalidArgument('data', `${file} is larger than ${SMALL_FILE_BYTES} bytes`);
          await f.writer.write(Buffer.from(data));
        } else if (m.msg.$case === 'commit') {
          for (const f of files.values()) await f.close();
          const manifest = await this.check(pool, dir, id, t, history, files, chunkHash, m.msg.value);
          await publishBackup(pool, manifest, staging);
          committed = true;
          const pruned = await pruneBackups(pool, t.vmUuid, {
            last: m.msg.value.keepLast,
            daily: m.msg.value.keepDaily,
            weekly: m.msg.value.keepWeekly,
            monthly: m.msg.value.keepMonthly,
          });
          log.info('backup received', { vm: manifest.vm.name, id, pool: pool.name, from: t.sourceHostId });
          call.write({
            msg: {
              $case: 'committed',
              value: {
                backup: backupMessage(pool, manifest),
                prunedIds: pruned.map((p) => p.id),
                prunedCheckpoints: pruned.map((p) => p.checkpoint ?? ''),
              },
            },
          });
          call.end();
          return;
        } else {
          throw invalidArgument('open', 'the upload is already open');
        }
      }
    } catch (err) {
      throw isNoSpace(err) ? targetFilledUp(pool, t.vmUuid, err) : err;
    } finally {
      for (const f of files.values()) await f.close().catch(() => undefined);
      if (!committed) await rm(tempBackupDir(pool, t.vmUuid, id, staging), { recursive: true, force: true });
      this.busy.delete(key);
    }
  }

  /** The manifest as sent, checked against what arrived. */
  private async check(
    pool: PoolRecord,
    dir: string,
    id: string,
    t: Ticket,
    history: readonly BackupManifest[],
    files: Map<string, Incoming>,
    chunkHash: ChunkHash,
    commit: BackupUploadCommit,
  ): Promise<BackupManifest> {
    const m = parseManifest(commit.manifestJson);
    const bad = (why: string) => new AgentError(ErrorCode.InvalidArgument, `backup ${id} for ${pool.name}: ${why}`);
    if (!m) throw bad('its manifest is not valid');
    if (m.id !== id || m.vm.uuid !== t.vmUuid) throw bad('its manifest names another backup or VM');
    if (m.parent && !history.some((h) => h.id === m.parent)) throw bad(`its parent ${m.parent} is not in this pool`);
    if (chunkHashOf(m) !== chunkHash) throw bad(`its checksums are not the ${chunkHash} its open announced`);
    const expected = new Set([DOMAIN_XML, ...m.disks.map((d) => d.file), ...(m.firmware ?? []).map((f) => f.file)]);
    for (const name of files.keys()) if (!expected.has(name)) throw bad(`${name} is not in its manifest`);
    for (const name of expected) if (!files.has(name)) throw bad(`${name} did not arrive`);
    for (const d of m.disks) {
      const w = files.get(d.file)!.writer;
      const sums = w.finish();
      const listed = diskSums(d);
      if (w.bytes !== d.storedBytes || sums.length !== listed.length || sums.some((s, i) => s !== listed[i]))
        throw bad(`${d.file} differs from its manifest (${w.bytes} bytes arrived, ${d.storedBytes} listed)`);
    }
    for (const f of m.firmware ?? []) {
      const data = await readFile(join(dir, f.file));
      if (createHash('sha256').update(data).digest('hex') !== f.sha256)
        throw bad(`${f.file} differs from its checksum`);
    }
    return m;
  }
}

function checkFileName(file: string): string {
  const firmware: string[] = Object.values(FIRMWARE_FILES);
  if (file === DOMAIN_XML || DISK_FILE.test(file) || firmware.includes(file)) return file;
  throw invalidArgument('data.file', `"${file}" is not a backup file name`);
}

/** What the open says the disks' chunks are checksummed with. */
function announcedChunkHash(name: string): ChunkHash {
  if (name === '') return 'sha256'; // an agent from before format 2
  if (name === 'sha256' || name === 'xxh128') return name;
  throw invalidArgument('open.chunk_hash', `"${name}" is not a chunk checksum (xxh128 or sha256)`);
}

async function openIncoming(path: string, mode: number, hash: ChunkHash): Promise<Incoming> {
  const hasher = await chunkHasher(hash);
  const fh = await open(path, 'wx', mode);
  let closed = false;
  return {
    writer: new HashingWriter(fileSink(fh), hasher),
    async close() {
      if (closed) return;
      closed = true;
      await fh.sync();
      await fh.close();
    },
  };
}

/**
 * The call's messages one at a time: reading pauses while READ_AHEAD wait; the end gives
 * undefined; a cancel (the source went away) or an error rejects.
 */
function messageReader(call: ServerDuplexStream<BackupUpload, BackupReceipt>): () => Promise<BackupUpload | undefined> {
  const queue: BackupUpload[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  call.on('data', (m: BackupUpload) => {
    queue.push(m);
    if (queue.length >= READ_AHEAD) call.pause();
    wake?.();
  });
  call.on('end', () => {
    ended = true;
    wake?.();
  });
  const fail = (err: Error) => {
    failure ??= err;
    wake?.();
  };
  call.on('cancelled', () => fail(new AgentError(ErrorCode.Unavailable, 'the source host cancelled the backup')));
  call.on('error', fail);
  return async () => {
    while (!queue.length && !ended && !failure) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    if (failure) throw failure;
    const m = queue.shift();
    if (queue.length < READ_AHEAD) call.resume();
    return m;
  };
}
