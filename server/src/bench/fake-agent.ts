// FakeAgent — a simulated host agent for scale (benchmarks, and the VM paging route test with
// VMs coming and going): a real gRPC server over TLS implementing HostService (info, Watch with
// heartbeats every 2 s, host metrics, VM added/removed events), VmService.ListVms/GetVm with N
// synthetic VMs, StorageService.ListPools and EnrollService.Join. Nothing else: not a real host.
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import { randomUUID } from 'node:crypto';
import {
  Server,
  ServerCredentials,
  status,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  EnrollServiceService,
  HostInfo,
  HostServiceService,
  type WatchEvent,
  type WatchRequest,
} from '@quantix/proto/v1/host.js';
import { VmServiceService, VmSpec, VmState, type Vm } from '@quantix/proto/v1/vm.js';
import { PoolKind, PoolState, StorageServiceService } from '@quantix/proto/v1/storage.js';
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';

const unimplemented = (name: string) => (_call: unknown, cb: (e: { code: number; details: string }) => void) =>
  cb({ code: status.UNIMPLEMENTED, details: `FakeAgent does not implement ${name}` });

function fill(service: Record<string, unknown>, impl: Record<string, unknown>): UntypedServiceImplementation {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(service)) out[key] = impl[key] ?? unimplemented(key);
  return out as UntypedServiceImplementation;
}

export class FakeAgent {
  readonly hostId = randomUUID();
  readonly vms: Vm[];
  private readonly server = new Server();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly watchers = new Set<ServerWritableStream<WatchRequest, WatchEvent>>();
  private nextVm: number;
  port = 0;

  constructor(
    private readonly identity: KeyAndCert,
    readonly index: number,
    vmCount: number,
  ) {
    this.vms = Array.from({ length: vmCount }, (_, i) => fakeVm(index, i));
    this.nextVm = vmCount;
  }

  /** A new synthetic VM, announced over Watch as a real agent announces a defined domain. */
  addVm(opts: { name?: string; tags?: string[] } = {}): Vm {
    const vm = fakeVm(this.index, this.nextVm++);
    if (opts.name) vm.spec!.name = opts.name;
    if (opts.tags) vm.spec!.tags = opts.tags;
    this.vms.push(vm);
    this.announce({ uuid: vm.spec!.uuid, name: vm.spec!.name, state: vm.state, removed: false });
    return vm;
  }

  /** Drops a VM and announces it gone (an undefined domain). */
  removeVm(uuid: string): void {
    const i = this.vms.findIndex((v) => v.spec!.uuid === uuid);
    if (i < 0) throw new Error(`FakeAgent ${this.index}: no VM ${uuid}`);
    const [vm] = this.vms.splice(i, 1);
    this.announce({ uuid, name: vm!.spec!.name, state: vm!.state, removed: true });
  }

  private announce(v: { uuid: string; name: string; state: VmState; removed: boolean }): void {
    const value = { ...v, reason: v.removed ? 'Undefined' : 'Defined', timestampMs: Date.now() };
    for (const w of this.watchers) w.write({ event: { $case: 'vmState', value } });
  }

  async start(): Promise<void> {
    // fromPartial: HostInfo fields added later (repeated ones too) get their proto defaults.
    const hostInfo = () =>
      HostInfo.fromPartial({
        hostId: this.hostId,
        hostname: `fake-${this.index}`,
        cpuModel: 'FakeAgent CPU',
        cpuCount: 32,
        memoryTotalBytes: 256 * 2 ** 30,
        memoryFreeBytes: (100 + this.index) * 2 ** 30,
        libvirtVersion: '9.0.0',
        qemuVersion: '7.2.0',
        domainType: 'kvm',
        uptimeSeconds: 1000,
        agentVersion: BUILD_VERSION, // a current agent
        osRelease: 'FakeAgent',
        kernel: 'fake',
        certificateFingerprint: '',
        addresses: ['127.0.0.1'],
      });
    this.server.addService(
      EnrollServiceService,
      fill(EnrollServiceService, {
        join: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { host: hostInfo() }),
      }),
    );
    this.server.addService(
      HostServiceService,
      fill(HostServiceService, {
        getHostInfo: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, hostInfo()),
        watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
          const beat = () => call.write({ event: { $case: 'heartbeat', value: { timestampMs: Date.now() } } });
          const hb = setInterval(beat, 2_000);
          const metrics = setInterval(
            () =>
              call.write({
                event: {
                  $case: 'hostMetrics',
                  value: {
                    timestampMs: Date.now(),
                    cpuPercent: 12.5,
                    memoryTotalBytes: 256 * 2 ** 30,
                    memoryUsedBytes: 100 * 2 ** 30,
                    load1: 0.5,
                    netRxBytes: 1,
                    netTxBytes: 1,
                    diskReadBytes: 1,
                    diskWriteBytes: 1,
                    diskReadOps: 1,
                    diskWriteOps: 1,
                  },
                },
              }),
            5_000,
          );
          this.timers.add(hb).add(metrics);
          this.watchers.add(call);
          const stop = () => {
            clearInterval(hb);
            clearInterval(metrics);
            this.watchers.delete(call);
          };
          call.on('cancelled', stop);
          call.on('close', stop);
          beat();
        },
      }),
    );
    this.server.addService(
      VmServiceService,
      fill(VmServiceService, {
        listVms: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { vms: this.vms }),
        getVm: (c: { request: { id: string } }, cb: (e: unknown, r?: unknown) => void) => {
          const vm = this.vms.find((v) => v.spec!.uuid === c.request.id || v.spec!.name === c.request.id);
          return vm ? cb(null, vm) : cb({ code: status.NOT_FOUND, details: `VM ${c.request.id} not found` });
        },
      }),
    );
    this.server.addService(
      StorageServiceService,
      fill(StorageServiceService, {
        listPools: (_c: unknown, cb: (e: null, r: unknown) => void) =>
          cb(null, {
            pools: [
              {
                name: 'default',
                kind: PoolKind.POOL_KIND_DIR,
                state: PoolState.POOL_STATE_ACTIVE,
                path: '/fake',
                backingFile: '',
                loopDevice: '',
                filesystem: '',
                capacityBytes: 2 ** 40,
                allocationBytes: 2 ** 39,
                availableBytes: 2 ** 39,
                error: '',
                volumeCount: 100,
              },
            ],
          }),
      }),
    );
    const creds = ServerCredentials.createSsl(
      null,
      [{ private_key: Buffer.from(this.identity.keyPem), cert_chain: Buffer.from(this.identity.certPem) }],
      false,
    );
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.server.forceShutdown();
  }
}

function fakeVm(host: number, i: number): Vm {
  const name = `fake-${host}-vm-${i}`;
  return {
    // fromPartial: spec fields added later get their proto defaults.
    spec: VmSpec.fromPartial({
      name,
      uuid: randomUUID(),
      sockets: 1,
      cores: 2,
      memoryMib: 2048,
      firmware: 1,
      machine: 'q35',
      disks: [{ pool: 'default', volume: `${name}-disk0`, bus: 1, readonly: false }],
      cdroms: [{ pool: '', volume: '', bus: 2 }],
      nics: [
        {
          kind: 1,
          source: 'default',
          model: 1,
          mac: `52:54:00:${(host & 0xff).toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
        },
      ],
      bootOrder: [1],
      vnc: false,
      description: 'a FakeAgent VM',
      tags: ['bench'],
      osType: 'linux',
    }),
    state: i % 3 === 0 ? VmState.VM_STATE_SHUTOFF : VmState.VM_STATE_RUNNING,
    domainType: 'kvm',
    ipAddresses: [`10.${host}.${i >> 8}.${i & 0xff}`],
    graphics: false,
    macs: [],
    stateChangedMs: Date.now(),
    snapshotCount: 0,
    guestAgentRunning: false,
    diskTargets: [],
  };
}
