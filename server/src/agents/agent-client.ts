// One host's agent over a single channel (mutual TLS with the agent certificate pinned, or the local
// host's private socket: agent-transport.ts), offered as
// typed verbs (startVm, uploadVolume, importOva, …): deadlines, streams and the gRPC status →
// HTTP mapping live here, so services never touch a generated client, metadata or a stream.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { bulkSocketPath, unixSocketPath } from '@quantix/proto/fs/private-socket.js';
import {
  Channel,
  Metadata,
  status,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';
import {
  HostServiceClient,
  type PowerHostRequest,
  type UpdateSystemHeader,
  type UpdateSystemResponse,
} from '@quantix/proto/v1/host.js';
import { VmServiceClient, type DiskSpec, type FirmwareState, type NicSpec, type VmSpec } from '@quantix/proto/v1/vm.js';
import { ImageServiceClient, StorageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { ConsoleServiceClient } from '@quantix/proto/v1/console.js';
import { NetworkServiceClient, type NetworkSpec } from '@quantix/proto/v1/network.js';
import {
  MigrationServiceClient,
  type MigrateOutRequest,
  type MigrateProgress,
  type PrepareIncomingRequest,
} from '@quantix/proto/v1/migration.js';
import type { Progress } from '@quantix/proto/v1/common.js';
import {
  BackupServiceClient,
  type Backup,
  type BackupProgress,
  type CreateBackupRequest,
  type DeleteBackupRequest,
  type PrepareBackupReceiveRequest,
  type RestoreBackupRequest,
  type RestoreBackupDiskRequest,
  type RestoreBackupOverVmRequest,
  type SendBackupRequest,
  type VerifyBackupRequest,
} from '@quantix/proto/v1/backup.js';
import { BackupTargetServiceClient, type NfsTarget } from '@quantix/proto/v1/nfs-target.js';
import type { ImportOvaEvent, ImportOvaHeader, ImportOvaResult } from '@quantix/proto/v1/image.js';
import {
  ListVolumesRequest,
  type CloneVolumeRequest,
  type CreatePoolRequest,
  type CreateVolumeRequest,
  type MoveVmDisksEvent,
  type MoveVmDisksRequest,
  type MoveVmDisksResult,
  type UploadVolumeHeader,
  type Volume,
} from '@quantix/proto/v1/storage.js';
import { agentCredentials } from './agent-transport.js';
import { HttpError } from '../errors.js';
import { isServiceError, toHttpError } from './grpc-errors.js';
import { sendBody } from './stream-upload.js';
import { pipeToBulkSocket } from './bulk-upload.js';
import { byteStream } from './stream-download.js';

/** The last overload of a ts-proto unary method: (request, metadata, options, callback). */
type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: { deadline: number },
  callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

export const DEFAULT_DEADLINE_MS = 30_000;
/** Sending a bundle (up to 2 GiB), verifying it twice and writing a slot: bounded all the same. */
const UPDATE_SYSTEM_DEADLINE_MS = 30 * 60_000;
/** Changes to a VM: libvirt may wait on a slow disk or a guest. */
const LONG_MS = 180_000;
/** Pools and volumes: a loop pool's backing file and mkfs, qemu-img on a big volume. */
const STORAGE_MS = 600_000;
/** How long a cancelled storage move may take to undo its copies before the call is dropped. */
const CANCEL_WAIT_MS = 60_000;
/** Copies of whole disks (clones, snapshots of big guests). */
const COPY_MS = 3_600_000;

/** VM actions that take just the VM's id. */
export type VmAction = 'start' | 'forceOff' | 'reboot' | 'reset' | 'pause' | 'resume';

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 8 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  // gRPC's default 20 s: a 5 s ping timeout drops the connection, and every console and
  // stream on it, whenever a loaded host stalls a process that long (the likely
  // cause of the "Connection dropped" seen under CI load). A dead agent is
  // seen sooner anyway: its heartbeats stop (host-connection.ts, 6 s).
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
  // Agents are addressed by IP and pinned by fingerprint: no SNI with an IP (RFC 6066).
  'grpc.ssl_target_name_override': 'quantix-agent',
};

export class AgentClient {
  private readonly hostSvc: HostServiceClient;
  private readonly vmSvc: VmServiceClient;
  private readonly storageSvc: StorageServiceClient;
  private readonly imageSvc: ImageServiceClient;
  private readonly networkSvc: NetworkServiceClient;
  private readonly consoleSvc: ConsoleServiceClient;
  private readonly migrationSvc: MigrationServiceClient;
  private readonly backupSvc: BackupServiceClient;
  private readonly nfsTargetSvc: BackupTargetServiceClient;
  private readonly channel: Channel;

  constructor(
    readonly address: string,
    agentCertPem: string,
    clientCert: KeyAndCert,
    private readonly label: () => string,
  ) {
    this.channel = new Channel(address, agentCredentials(address, agentCertPem, clientCert), CHANNEL_OPTIONS);
    const opts = { channelOverride: this.channel };
    const creds = agentCredentials(address, agentCertPem, clientCert);
    this.hostSvc = new HostServiceClient(address, creds, opts);
    this.vmSvc = new VmServiceClient(address, creds, opts);
    this.storageSvc = new StorageServiceClient(address, creds, opts);
    this.imageSvc = new ImageServiceClient(address, creds, opts);
    this.consoleSvc = new ConsoleServiceClient(address, creds, opts);
    this.networkSvc = new NetworkServiceClient(address, creds, opts);
    this.migrationSvc = new MigrationServiceClient(address, creds, opts);
    this.backupSvc = new BackupServiceClient(address, creds, opts);
    this.nfsTargetSvc = new BackupTargetServiceClient(address, creds, opts);
  }

  // Host
  getHostInfo = (ms = DEFAULT_DEADLINE_MS) => this.call(this.hostSvc, this.hostSvc.getHostInfo, {}, ms);
  /** The live event stream (heartbeats, VM states, metrics, pools); host-connection.ts reads it. */
  watch = (metricsIntervalMs: number) => this.hostSvc.watch({ metricsIntervalMs });
  leave = (vdcId: string, ms: number) => this.call(this.hostSvc, this.hostSvc.leave, { vdcId }, ms);
  setAgentCertificate = (certificatePem: string) =>
    this.call(this.hostSvc, this.hostSvc.setAgentCertificate, { certificatePem });
  /** Waits while the VMs shut down (up to their timeout), so the deadline is that plus a margin. */
  powerHost = (req: PowerHostRequest) =>
    this.call(this.hostSvc, this.hostSvc.powerHost, req, (req.vmShutdownTimeoutSeconds || 120) * 1000 + 60_000);
  /**
   * Streams an update bundle (`header`: its size, whether a downgrade is allowed) to the host, which
   * checks it with its own image key and version, writes it into its inactive slot, arms it and
   * reboots (HostService/UpdateSystem).
   */
  updateSystem(
    body: Readable,
    header: UpdateSystemHeader,
    onBytes: (total: number) => void,
  ): Promise<UpdateSystemResponse> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + UPDATE_SYSTEM_DEADLINE_MS;
      const call = this.hostSvc.updateSystem(new Metadata(), { deadline }, (err, r) =>
        err ? reject(this.mapError(err)) : resolve(r),
      );
      sendBody(call, header, body, onBytes).catch(reject);
    });
  }

  // Backups (backup-service.ts); an NFS target is opened on the host before each use (backup-targets.ts)
  openNfsTarget = (t: NfsTarget) => this.call(this.nfsTargetSvc, this.nfsTargetSvc.openNfsTarget, t, LONG_MS);
  listBackups = (pool: string, vmUuid: string) =>
    this.call(this.backupSvc, this.backupSvc.listBackups, { pool, vmUuid }, LONG_MS);
  deleteBackup = (req: DeleteBackupRequest) => this.call(this.backupSvc, this.backupSvc.deleteBackup, req, LONG_MS);
  verifyBackup = (req: VerifyBackupRequest) => this.call(this.backupSvc, this.backupSvc.verifyBackup, req, COPY_MS);
  restoreBackup = (req: RestoreBackupRequest) => this.call(this.backupSvc, this.backupSvc.restoreBackup, req, COPY_MS);
  restoreBackupOverVm = (req: RestoreBackupOverVmRequest) =>
    this.call(this.backupSvc, this.backupSvc.restoreBackupOverVm, req, COPY_MS);
  restoreBackupDisk = (req: RestoreBackupDiskRequest) =>
    this.call(this.backupSvc, this.backupSvc.restoreBackupDisk, req, COPY_MS);
  /** On the host holding a point: sends it to another host's agent (a restore there). */
  sendBackup = (req: SendBackupRequest) => this.call(this.backupSvc, this.backupSvc.sendBackup, req, COPY_MS);
  /** On a backup's target host: the ticket its source host's agent sends the backup with. */
  prepareBackupReceive = (req: PrepareBackupReceiveRequest) =>
    this.call(this.backupSvc, this.backupSvc.prepareBackupReceive, req, LONG_MS);
  /** Runs a backup until it ends, `onPercent` hearing its progress; aborting `signal` cancels it. */
  createBackup(
    req: CreateBackupRequest,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<{ backup: Backup; prunedIds: string[] }> {
    const cancel = () =>
      void this.call(this.backupSvc, this.backupSvc.cancelBackup, { jobId: req.jobId }).catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    return new Promise<{ backup: Backup; prunedIds: string[] }>((resolve, reject) => {
      const call = this.backupSvc.createBackup(req);
      let done: { backup: Backup; prunedIds: string[] } | undefined;
      call.on('data', (p: BackupProgress) =>
        p.backup ? (done = { backup: p.backup, prunedIds: p.prunedIds }) : onPercent(p.percent),
      );
      call.on('error', (err) => reject(toHttpError(err, this.label())));
      call.on('end', () =>
        done ? resolve(done) : reject(new HttpError(502, `host ${this.label()} ended the backup without a result`)),
      );
    }).finally(() => signal.removeEventListener('abort', cancel));
  }

  // Live migration (migration-service.ts)
  planOutgoing = (vmName: string) => this.call(this.migrationSvc, this.migrationSvc.planOutgoing, { vmName }, LONG_MS);
  prepareIncoming = (req: PrepareIncomingRequest) =>
    this.call(this.migrationSvc, this.migrationSvc.prepareIncoming, req, STORAGE_MS);
  abortIncoming = (migrationId: string) =>
    this.call(this.migrationSvc, this.migrationSvc.abortIncoming, { migrationId }, LONG_MS);
  getOutgoing = (migrationId: string) =>
    this.call(this.migrationSvc, this.migrationSvc.getOutgoing, { migrationId }, DEFAULT_DEADLINE_MS);
  cancelOutgoing = (migrationId: string) =>
    this.call(this.migrationSvc, this.migrationSvc.cancelOutgoing, { migrationId }, DEFAULT_DEADLINE_MS);
  /**
   * Runs a live migration on this (source) host until it ends; `onProgress` hears its figures.
   * Aborting `signal` cancels it (the VM stays here). A stream that breaks (a dropped connection
   * on a busy host) does not end it: the job is then followed with GetOutgoing until it ends.
   */
  async migrateOut(
    req: MigrateOutRequest,
    onProgress: (p: MigrateProgress) => void,
    signal: AbortSignal,
  ): Promise<MigrateProgress> {
    const cancel = () => void this.cancelOutgoing(req.migrationId).catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      try {
        return await new Promise<MigrateProgress>((resolve, reject) => {
          const call = this.migrationSvc.migrateOut(req);
          let last: MigrateProgress | undefined;
          call.on('data', (p: MigrateProgress) => (p.phase === 'done' ? (last = p) : onProgress(p)));
          call.on('error', reject);
          call.on('end', () =>
            last
              ? resolve(last)
              : reject(new HttpError(502, `host ${this.label()} ended the migration without a result`)),
          );
        });
      } catch (err) {
        if (!isServiceError(err) || err.code !== status.UNAVAILABLE) throw this.mapError(err);
      }
      const end = await this.followOutgoing(req.migrationId, onProgress);
      if (!end) throw new HttpError(502, `host ${this.label()} restarted during the migration: it stopped`);
      return end;
    } catch (err) {
      if (signal.aborted) throw new HttpError(409, 'cancelled');
      throw err;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  /**
   * Follows live migration `migrationId` on this (source) host with GetOutgoing each second until
   * it ends: its final figures, undefined when the agent does not know it (it restarted, or the
   * migration never started here); throws the migration's error.
   */
  async followOutgoing(
    migrationId: string,
    onProgress: (p: MigrateProgress) => void,
  ): Promise<MigrateProgress | undefined> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      const s = await this.getOutgoing(migrationId).catch((err: unknown) => {
        if (err instanceof HttpError && err.status === 503) return undefined; // still reconnecting
        throw err;
      });
      if (!s) continue;
      if (!s.known) return undefined;
      if (s.running) {
        if (s.progress) onProgress(s.progress);
        continue;
      }
      if (s.error) throw new HttpError(409, s.error);
      return s.progress!;
    }
  }

  // VMs
  listVms = (ms = DEFAULT_DEADLINE_MS) => this.call(this.vmSvc, this.vmSvc.listVms, {}, ms);
  getVm = (id: string, ms = DEFAULT_DEADLINE_MS) => this.call(this.vmSvc, this.vmSvc.getVm, { id }, ms);
  /** `firmware`: UEFI variables and TPM state carried from another host (cold migration). */
  defineVm = (spec: VmSpec, firmware?: FirmwareState) =>
    firmware
      ? this.call(this.vmSvc, this.vmSvc.defineVmWithFirmware, { spec, firmware }, LONG_MS)
      : this.call(this.vmSvc, this.vmSvc.defineVm, { spec }, LONG_MS);
  getFirmwareState = (id: string) => this.call(this.vmSvc, this.vmSvc.getFirmwareState, { id });
  updateVm = (id: string, spec: VmSpec) => this.call(this.vmSvc, this.vmSvc.updateVm, { vm: { id }, spec }, LONG_MS);
  startVm = (id: string) => this.vmAction('start', id);
  vmAction(action: VmAction, id: string) {
    const s = this.vmSvc;
    const method = {
      start: s.startVm,
      forceOff: s.forceOffVm,
      reboot: s.rebootVm,
      reset: s.resetVm,
      pause: s.pauseVm,
      resume: s.resumeVm,
    }[action];
    return this.call(s, method, { id }, LONG_MS);
  }
  /** Waits for the guest up to `timeoutSeconds` (0 = the agent's default of 60 s), plus 30 s. */
  shutdownVm = (id: string, timeoutSeconds: number) =>
    this.call(this.vmSvc, this.vmSvc.shutdownVm, { vm: { id }, timeoutSeconds }, ((timeoutSeconds || 60) + 30) * 1000);
  deleteVm = (id: string, deleteDisks: boolean) =>
    this.call(this.vmSvc, this.vmSvc.deleteVm, { vm: { id }, deleteDisks }, LONG_MS);
  cloneVm = (id: string, name: string, linked: boolean) =>
    this.call(this.vmSvc, this.vmSvc.cloneVm, { source: { id }, name, linked }, COPY_MS);
  getVmStats = (id: string) => this.call(this.vmSvc, this.vmSvc.getVmStats, { id });
  listSnapshots = (id: string) => this.call(this.vmSvc, this.vmSvc.listSnapshots, { id });
  createSnapshot = (id: string, name: string, description: string) =>
    this.call(this.vmSvc, this.vmSvc.createSnapshot, { vm: { id }, name, description }, COPY_MS);
  revertSnapshot = (id: string, name: string) =>
    this.call(this.vmSvc, this.vmSvc.revertSnapshot, { vm: { id }, name }, COPY_MS);
  deleteSnapshot = (id: string, name: string) =>
    this.call(this.vmSvc, this.vmSvc.deleteSnapshot, { vm: { id }, name }, COPY_MS);
  setAutostart = (id: string, a: { autostart: boolean; order: number; delaySeconds: number }) =>
    this.call(this.vmSvc, this.vmSvc.setAutostart, { vm: { id }, ...a }, LONG_MS);
  // Hotplug: live on a running VM (a detach waits for the guest to let the device go).
  changeCdromMedia = (id: string, index: number, pool: string, volume: string) =>
    this.call(this.vmSvc, this.vmSvc.changeCdromMedia, { vm: { id }, index, pool, volume }, LONG_MS);
  attachDisk = (id: string, disk: DiskSpec) =>
    this.call(this.vmSvc, this.vmSvc.attachDisk, { vm: { id }, disk }, LONG_MS);
  detachDisk = (id: string, target: string) =>
    this.call(this.vmSvc, this.vmSvc.detachDisk, { vm: { id }, target }, LONG_MS);
  setVcpus = (id: string, vcpus: number) => this.call(this.vmSvc, this.vmSvc.setVcpus, { vm: { id }, vcpus }, LONG_MS);
  setMemory = (id: string, memoryMib: number) =>
    this.call(this.vmSvc, this.vmSvc.setMemory, { vm: { id }, memoryMib }, LONG_MS);
  attachNic = (id: string, nic: NicSpec) => this.call(this.vmSvc, this.vmSvc.attachNic, { vm: { id }, nic }, LONG_MS);
  detachNic = (id: string, mac: string) => this.call(this.vmSvc, this.vmSvc.detachNic, { vm: { id }, mac }, LONG_MS);

  // Pools and volumes
  listPools = (ms = DEFAULT_DEADLINE_MS) => this.call(this.storageSvc, this.storageSvc.listPools, {}, ms);
  getPool = (name: string) => this.call(this.storageSvc, this.storageSvc.getPool, { name });
  createPool = (req: CreatePoolRequest) =>
    this.call(this.storageSvc, this.storageSvc.createPool, req, req.validateOnly ? DEFAULT_DEADLINE_MS : STORAGE_MS);
  startPool = (name: string) => this.call(this.storageSvc, this.storageSvc.startPool, { name }, STORAGE_MS);
  stopPool = (name: string) => this.call(this.storageSvc, this.storageSvc.stopPool, { name }, STORAGE_MS);
  growPool = (name: string, sizeBytes: number) =>
    this.call(this.storageSvc, this.storageSvc.growPool, { name, sizeBytes }, STORAGE_MS);
  deletePool = (name: string, deleteBackingFile: boolean) =>
    this.call(this.storageSvc, this.storageSvc.deletePool, { name, deleteBackingFile }, STORAGE_MS);
  listVolumes = (pool: string) =>
    this.call(this.storageSvc, this.storageSvc.listVolumes, ListVolumesRequest.fromPartial({ pool }));
  getVolume = (pool: string, name: string) => this.call(this.storageSvc, this.storageSvc.getVolume, { pool, name });
  createVolume = (req: CreateVolumeRequest) =>
    this.call(this.storageSvc, this.storageSvc.createVolume, req, STORAGE_MS);
  resizeVolume = (pool: string, name: string, capacityBytes: number) =>
    this.call(this.storageSvc, this.storageSvc.resizeVolume, { pool, name, capacityBytes }, STORAGE_MS);
  cloneVolume = (req: CloneVolumeRequest) => this.call(this.storageSvc, this.storageSvc.cloneVolume, req, COPY_MS);
  deleteVolume = (pool: string, name: string) =>
    this.call(this.storageSvc, this.storageSvc.deleteVolume, { pool, name }, STORAGE_MS);
  /**
   * Moves a VM's disks into another pool of the host; `onProgress` hears each update. Aborting
   * `signal` cancels the call, and the agent aborts the copy (the VM keeps its old disks).
   */
  moveVmDisks(
    req: Omit<MoveVmDisksRequest, 'cancel'>,
    onProgress: (p: Progress) => void,
    signal: AbortSignal,
  ): Promise<MoveVmDisksResult> {
    return new Promise<MoveVmDisksResult>((resolve, reject) => {
      const call = this.storageSvc.moveVmDisks();
      let giveUp: NodeJS.Timeout | undefined;
      // The agent ends the call once it has aborted the copy and removed what it made.
      const cancel = () => {
        call.write({ ...req, cancel: true });
        giveUp = setTimeout(() => call.cancel(), CANCEL_WAIT_MS);
      };
      const done = () => {
        signal.removeEventListener('abort', cancel);
        clearTimeout(giveUp);
      };
      signal.addEventListener('abort', cancel, { once: true });
      let result: MoveVmDisksResult | undefined;
      call.on('data', (e: MoveVmDisksEvent) => {
        if (e.event?.$case === 'progress') onProgress(e.event.value);
        else if (e.event?.$case === 'result') result = e.event.value;
      });
      call.on('error', (err) => {
        done();
        reject(signal.aborted ? new HttpError(409, 'cancelled') : this.mapError(err));
      });
      call.on('end', () => {
        done();
        if (result) resolve(result);
        else reject(new HttpError(502, `host ${this.label()} ended the storage move without a result`));
      });
      call.write({ ...req, cancel: false });
      if (signal.aborted) cancel();
    });
  }
  /** The volume's bytes; an agent error destroys the stream with the mapped error. */
  downloadVolume = (pool: string, name: string): Readable =>
    byteStream(this.storageSvc.downloadVolume({ pool, name }), (e) => this.mapError(e));

  /**
   * Streams `body` into a new volume; `onBytes` hears the running total. A body that breaks off
   * cancels the call, and the agent removes what it wrote.
   */
  uploadVolume(header: UploadVolumeHeader, body: Readable, onBytes: (total: number) => void): Promise<Volume> {
    const local = unixSocketPath(this.address);
    if (local) {
      return this.viaBulkSocket(local, body, onBytes, (ticket) => {
        let cancel = () => {};
        const result = new Promise<Volume>((resolve, reject) => {
          const call = this.storageSvc.uploadVolumeLocal({ header, ticket }, (err, v) =>
            err ? reject(err) : resolve(v),
          );
          cancel = () => call.cancel();
        });
        return { result, cancel };
      });
    }
    return new Promise<Volume>((resolve, reject) => {
      const call = this.storageSvc.uploadVolume((err, v) => (err ? reject(this.mapError(err)) : resolve(v)));
      sendBody(call, header, body, onBytes).catch(reject);
    });
  }

  /**
   * The local agent's fast path (bulk-upload.ts): `start` makes the call with a fresh ticket, the
   * bytes go plain on the bulk socket beside the agent's socket `local`; the call's answer (or its
   * refusal) is the result.
   */
  private async viaBulkSocket<T>(
    local: string,
    body: Readable,
    onBytes: (total: number) => void,
    start: (ticket: Buffer) => { result: Promise<T>; cancel: () => void },
  ): Promise<T> {
    const ticket = randomBytes(32);
    const { result, cancel } = start(ticket);
    result.catch(() => undefined); // awaited below; the agent's refusal may come first
    const pipe = await pipeToBulkSocket(bulkSocketPath(local), ticket, body, onBytes).catch((err: unknown) => {
      cancel();
      throw new HttpError(502, `host ${this.label()}: ${err instanceof Error ? err.message : String(err)}`);
    });
    result.catch(() => pipe.socket.destroy()); // refused: stop sending
    const sent = await pipe.done;
    if (sent.broke === 'body') {
      cancel(); // the agent drops what it received
      await result.catch(() => undefined);
      throw new HttpError(400, `the upload was interrupted: ${sent.error?.message ?? 'the body ended early'}`);
    }
    try {
      return await result;
    } catch (err) {
      throw this.mapError(err);
    }
  }

  // OVA
  /** Streams an OVA in `body` to the agent, which converts its disks; `onProgress` hears each phase. */
  importOva(header: ImportOvaHeader, body: Readable, onProgress: (p: Progress) => void): Promise<ImportOvaResult> {
    const local = unixSocketPath(this.address);
    if (local) {
      return this.viaBulkSocket(
        local,
        body,
        () => undefined,
        (ticket) => {
          const call = this.imageSvc.importOvaLocal({ header, ticket });
          return { result: importEvents(call, onProgress, this.label()), cancel: () => call.cancel() };
        },
      );
    }
    return new Promise<ImportOvaResult>((resolve, reject) => {
      const call = this.imageSvc.importOva();
      importEvents(call, onProgress, this.label()).then(resolve, (err: unknown) => reject(this.mapError(err)));
      sendBody(call, header, body, () => undefined).catch(reject);
    });
  }
  /** The VM as an OVA (tar) byte stream. */
  exportOva = (id: string): Readable => byteStream(this.imageSvc.exportOva({ vm: { id } }), (e) => this.mapError(e));

  // Networks
  listNetworks = () => this.call(this.networkSvc, this.networkSvc.listNetworks, {});
  getNetwork = (name: string) => this.call(this.networkSvc, this.networkSvc.getNetwork, { name });
  createNetwork = (spec: NetworkSpec) => this.call(this.networkSvc, this.networkSvc.createNetwork, spec, 120_000);
  deleteNetwork = (name: string) => this.call(this.networkSvc, this.networkSvc.deleteNetwork, { name }, 120_000);
  listHostInterfaces = () => this.call(this.networkSvc, this.networkSvc.listHostInterfaces, {});

  // Consoles: bidirectional streams the relay (console/console-proxy.ts) pumps with backpressure.
  /** A VM's serial console (the first message names the VM). */
  openConsole = () => this.consoleSvc.console();
  /** The host's shell. */
  openShell = () => this.consoleSvc.shell();
  /** A VM's graphical console: raw RFB bytes both ways (ConsoleService.Graphics). */
  openGraphics = () => this.consoleSvc.graphics();

  mapError(err: unknown): Error {
    return toHttpError(err, this.label());
  }

  close(): void {
    for (const c of [
      this.hostSvc,
      this.vmSvc,
      this.storageSvc,
      this.imageSvc,
      this.consoleSvc,
      this.networkSvc,
      this.backupSvc,
    ])
      c.close();
    this.channel.close();
  }

  /** One unary call with a deadline; errors arrive as HttpError. */
  private call<Req, Res>(
    client: Client,
    method: UnaryMethod<Req, Res>,
    req: Req,
    timeoutMs = DEFAULT_DEADLINE_MS,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(toHttpError(err, this.label())) : resolve(res),
      );
    });
  }
}

/** An import's events: `onProgress` hears each progress; resolves with the result the agent sent last. */
function importEvents(
  call: ClientReadableStream<ImportOvaEvent>,
  onProgress: (p: Progress) => void,
  hostLabel: string,
): Promise<ImportOvaResult> {
  return new Promise((resolve, reject) => {
    let result: ImportOvaResult | undefined;
    call.on('data', (e: ImportOvaEvent) => {
      if (e.event?.$case === 'progress') onProgress(e.event.value);
      else if (e.event?.$case === 'result') result = e.event.value;
    });
    call.on('error', reject);
    call.on('end', () =>
      result ? resolve(result) : reject(new HttpError(502, `host ${hostLabel} ended the import without a result`)),
    );
  });
}
