// Two real hosts on one machine for cluster tests (migration): a test server with host A = a local
// agent on this machine's system libvirtd, and host B = an agent joined as a remote host, running in
// its own network namespace (a veth /30 of its own) AND its own mount namespace with its own system
// libvirtd + virtlogd (fresh dirs bind-mounted over /run, /var/lib/libvirt, /etc/libvirt, /var/log,
// /var/cache, and a private /etc/pki/qemu: QEMU's migration TLS files, libvirt's default place, which
// each agent writes for its own libvirtd). One run at a time (a lock); leftovers of a crashed run
// are removed at start.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostDto, HostProbeDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { eventually, GUEST_QCOW2 } from '../../server/src/test-support/guest-pool.js';
import { freePort, listening, REPO, spawnNode, type Child } from '../../server/src/test-support/spawn.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../server/src/test-support/test-server.js';
import { takeRunLock } from '../network/run-lock.js';

const exec = promisify(execFile);
/** Every object the harness makes is named with this prefix (domains, pools, netns, links, dirs). */
export const PREFIX = 'qxc-';
const NS = 'qxc-hostb';
const HOST_SIDE = 'qxc-ha';
const NS_SIDE = 'qxc-hb';
export const A_IP = '10.214.20.1';
export const B_IP = '10.214.20.2';
const BASE = '/tmp/qxc-cluster';
const LOCK = '/tmp/qxc-cluster.lock';
/** libvirt's default_tls_x509_cert_dir (agent/src/migration/qemu-tls.ts): host A's is this machine's. */
const QEMU_TLS_DIR = '/etc/pki/qemu';
const ip = (...args: string[]) => exec('ip', args);

export interface ClusterHost {
  id: string;
  name: string;
  /** The agent's gRPC address (host:port). */
  address: string;
  /** An agent-managed dir pool on this host, and its directory. */
  pool: string;
  poolDir: string;
  agent: Child;
  /** virsh against this host's own system libvirtd. */
  virsh(args: string[]): Promise<string>;
  /** Kills (SIGKILL) / starts the agent again on the same identity. */
  killAgent(): Promise<void>;
  startAgent(): Promise<void>;
}

export interface TwoHosts {
  server: TestServer;
  api: ApiClient;
  a: ClusterHost;
  b: ClusterHost;
  /** Host B's own /run (bind-mounted over /run in its mount namespace). */
  bRunDir: string;
  /** Host B's own /var/lib/libvirt and /var/log, as seen from here. */
  bVarLibDir: string;
  bLogDir: string;
  /** Cuts / restores the link between the hosts (host B's veth down / up). */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  /** Uploads the test guest into `host`'s pool as `<name>.qcow2` and creates + starts VM `name` there. */
  createGuestVm(
    host: ClusterHost,
    name: string,
    opts?: { memoryMib?: number; spec?: Record<string, unknown> },
  ): Promise<VmDto>;
  waitTask(id: string, timeoutMs?: number): Promise<TaskDto>;
  /** Talks to another server from now on (`api`, waitTask, createGuestVm): the new leader. */
  useApi(api: ApiClient): void;
  /** Stops the vDC server and starts it again on the same data (`server` and `api` are then the new one's). */
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs argv inside host B's namespaces (network + mount of the holder process). */
function inB(holder: number, argv: string[]): string[] {
  return ['nsenter', `--target=${holder}`, '--mount', '--net', `--wd=${REPO}`, '--', ...argv];
}

async function nsPids(): Promise<number[]> {
  const out = await ip('netns', 'pids', NS).then(
    (r) => r.stdout,
    () => '',
  );
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function killNamespace(): Promise<void> {
  // libvirtd, virtlogd, QEMU, the agent and the holder all live in the netns: kill them all.
  for (let round = 0; round < 50; round++) {
    const pids = await nsPids();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await ip('link', 'del', 'dev', HOST_SIDE).catch(() => undefined);
  await ip('netns', 'del', NS).catch(() => undefined);
  // A namespace file whose unmount failed above (busy on a loaded machine) would make the next
  // `ip netns add` fail with "File exists".
  if (existsSync(`/run/netns/${NS}`)) {
    await exec('umount', ['-l', `/run/netns/${NS}`]).catch(() => undefined);
    await rm(`/run/netns/${NS}`, { force: true });
  }
}

async function virshA(args: string[]): Promise<string> {
  return (await exec('virsh', ['-c', 'qemu:///system', ...args], { timeout: 60_000 })).stdout.trim();
}

/** Host A's libvirt objects named with the prefix (domains, pools), from this or a crashed run. */
async function cleanHostA(): Promise<void> {
  const domains = (await virshA(['list', '--all', '--name']).catch(() => '')).split('\n').map((s) => s.trim());
  for (const d of domains.filter((n) => n.startsWith(PREFIX))) {
    await virshA(['destroy', d]).catch(() => undefined);
    await virshA(['undefine', d, '--nvram', '--tpm']).catch(() => virshA(['undefine', d]).catch(() => undefined));
  }
  const pools = (await virshA(['pool-list', '--all', '--name']).catch(() => '')).split('\n').map((s) => s.trim());
  for (const p of pools.filter((n) => n.startsWith(PREFIX))) {
    await virshA(['pool-destroy', p]).catch(() => undefined);
    await virshA(['pool-undefine', p]).catch(() => undefined);
  }
}

async function cleanAll(): Promise<void> {
  await killNamespace();
  await cleanHostA();
  // Host A's migration socket dirs of a run stopped mid-migration (its agent's records went with BASE).
  await rm('/run/quantix/migration', { recursive: true, force: true });
  await rm(BASE, { recursive: true, force: true });
}

/**
 * What holds host B's mount namespace. A slave of this one, not private: a private copy kept every
 * filesystem mounted here when B started (another test's loop pool, in make test) until B stopped,
 * and that pool's loop device stayed busy after its unmount ("still in use after unmounting").
 * Unmounts here propagate to a slave (build/dev/libvirt-up.sh makes / shared, as systemd does).
 */
export const HOLDER_ARGV = ['unshare', '--mount', '--propagation', 'slave', 'sleep', 'infinity'];

/** Holds host B's mount namespace: `sleep` under unshare inside the netns (its pid is the target). */
function startHolder(): ChildProcess {
  return spawn('ip', ['netns', 'exec', NS, ...HOLDER_ARGV], { stdio: 'ignore' });
}

async function mountNamespaceReady(holder: number): Promise<boolean> {
  const [mine, its] = await Promise.all([
    exec('readlink', ['/proc/self/ns/mnt']).then((r) => r.stdout),
    exec('readlink', [`/proc/${holder}/ns/mnt`]).then(
      (r) => r.stdout,
      () => '',
    ),
  ]);
  const comm = await readFile(`/proc/${holder}/comm`, 'utf8').catch(() => '');
  return its !== '' && its !== mine && comm.trim() === 'sleep';
}

export interface TwoHostsOptions {
  /**
   * Host B's libvirtd also listens on plain TCP (no auth) on its veth address: only for the
   * benchmark's bare `virsh migrate` baseline, never for the product path.
   */
  libvirtTcp?: boolean;
  /**
   * The server reaches host A's agent over its UNIX socket, as the appliance reaches its own host
   * (the host's address in the vDC is then unix:…), its agent listening on 0.0.0.0 as there.
   */
  localOverUnix?: boolean;
  /**
   * Starts the vDC server(s) instead of the in-process test server (an etcd control plane's
   * processes: test/etcd/control-plane.ts), given the env that makes host A its local host; returns
   * the signed-in API. `server` and `restartServer` are then not available.
   */
  startServer?: (env: Record<string, string>) => Promise<ApiClient>;
}

export async function startTwoHosts(opts: TwoHostsOptions = {}): Promise<TwoHosts> {
  const release = await takeRunLock(LOCK);
  await cleanAll();
  const dirs = {
    run: join(BASE, 'b-run'),
    varlib: join(BASE, 'b-varlib'),
    etc: join(BASE, 'b-etc'),
    log: join(BASE, 'b-log'),
    cache: join(BASE, 'b-cache'),
    agentA: join(BASE, 'a-agent'),
    agentB: join(BASE, 'b-agent'),
    poolA: join(BASE, 'a-pool'),
    poolB: join(BASE, 'b-pool'),
    pkiB: join(BASE, 'b-pki-qemu'),
  };
  await mkdir(BASE, { mode: 0o755 });
  await chmod(BASE, 0o755);
  for (const d of Object.values(dirs)) await mkdir(d, { mode: 0o755 });
  await chmod(dirs.agentA, 0o700);
  await chmod(dirs.agentB, 0o700);
  await mkdir(join(dirs.log, 'libvirt', 'qemu'), { recursive: true });
  // /var/lock is /run/lock: virsh console on host B locks its pty there.
  await mkdir(join(dirs.run, 'lock'), { mode: 0o755 });
  await mkdir(join(dirs.cache, 'libvirt'), { recursive: true });
  await cp('/etc/libvirt', dirs.etc, { recursive: true });
  // No autostarted networks in host B's libvirt (its own netns has no use for the default NAT).
  await rm(join(dirs.etc, 'qemu', 'networks', 'autostart'), { recursive: true, force: true });
  // Nor this machine's domains (qemu/<name>.xml): host B starts with no VM of its own.
  for (const f of await readdir(join(dirs.etc, 'qemu')).catch(() => [] as string[]))
    if (f.endsWith('.xml')) await rm(join(dirs.etc, 'qemu', f), { force: true });

  let holderProc: ChildProcess | undefined;
  let agentA: Child | undefined;
  let agentB: Child | undefined;
  let server: TestServer | undefined;
  // Host A's agent writes the machine's own QEMU TLS dir: removed again unless it was there before.
  const pkiWasThere = existsSync(QEMU_TLS_DIR);
  const pkiRootWasThere = existsSync('/etc/pki');
  await mkdir(QEMU_TLS_DIR, { recursive: true, mode: 0o755 });
  // A restarted server keeps its data dir on stop(): removed here.
  let restartedDataDir: string | undefined;
  const stop = async () => {
    await server?.stop().catch(() => undefined);
    if (restartedDataDir) await rm(restartedDataDir, { recursive: true, force: true });
    await agentA?.kill('SIGKILL');
    await agentB?.kill('SIGKILL');
    holderProc?.kill('SIGKILL');
    await cleanAll();
    if (!pkiWasThere) await rm(pkiRootWasThere ? QEMU_TLS_DIR : '/etc/pki', { recursive: true, force: true });
    await release();
  };
  try {
    await ip('netns', 'add', NS);
    await ip('link', 'add', HOST_SIDE, 'type', 'veth', 'peer', 'name', NS_SIDE);
    await ip('link', 'set', NS_SIDE, 'netns', NS);
    await ip('addr', 'add', `${A_IP}/30`, 'dev', HOST_SIDE);
    await ip('link', 'set', HOST_SIDE, 'up');
    await ip('-n', NS, 'addr', 'add', `${B_IP}/30`, 'dev', NS_SIDE);
    await ip('-n', NS, 'link', 'set', NS_SIDE, 'up');
    await ip('-n', NS, 'link', 'set', 'lo', 'up');

    holderProc = startHolder();
    const holder = holderProc.pid!;
    // Generous: on a machine loaded far above its cores, processes start slowly.
    await eventually('host B mount namespace', () => mountNamespaceReady(holder), 60_000);
    const runB = async (argv: string[]) => {
      const full = inB(holder, argv);
      return (await exec(full[0]!, full.slice(1), { timeout: 60_000 })).stdout.trim();
    };
    const bind = (src: string, dst: string) => runB(['mount', '--bind', src, dst]);
    await bind(dirs.run, '/run');
    await bind(dirs.varlib, '/var/lib/libvirt');
    await bind(dirs.etc, '/etc/libvirt');
    await bind(dirs.log, '/var/log');
    await bind(dirs.cache, '/var/cache');
    await bind(dirs.pkiB, QEMU_TLS_DIR);
    await runB(['virtlogd', '-d']);
    if (opts.libvirtTcp) {
      const conf = join(dirs.etc, 'libvirtd.conf');
      const text = await readFile(conf, 'utf8').catch(() => '');
      await writeFile(conf, `${text}\nlisten_tls = 0\nlisten_tcp = 1\nauth_tcp = "none"\nlisten_addr = "${B_IP}"\n`);
    }
    await runB(opts.libvirtTcp ? ['libvirtd', '-d', '--listen'] : ['libvirtd', '-d']);
    const virshB = (args: string[]) => runB(['virsh', '-c', 'qemu:///system', ...args]);
    await eventually(
      'host B libvirtd',
      () =>
        virshB(['version']).then(
          () => true,
          () => false,
        ),
      120_000,
    );

    const portA = await freePort();
    const addressA = `${A_IP}:${portA}`;
    const addressB = `${B_IP}:9443`;
    const startA = async () => {
      agentA = await spawnNode(
        'agent/src/main.ts',
        {
          QX_AGENT_DATA_DIR: dirs.agentA,
          // As the appliance's agent: on every address (it then finds its own towards a peer).
          QX_AGENT_LISTEN: opts.localOverUnix ? `0.0.0.0:${portA}` : addressA,
          QX_AGENT_NETWORKD_DIR: '',
        },
        async () =>
          (existsSync(join(dirs.agentA, 'join-token')) || existsSync(join(dirs.agentA, 'identity', 'vdc-ca.crt'))) &&
          (await listening(portA, A_IP)),
      );
    };
    const startB = async () => {
      agentB = await spawnNode(
        'agent/src/main.ts',
        {
          QX_AGENT_DATA_DIR: dirs.agentB,
          QX_AGENT_LISTEN: addressB,
          QX_LIBVIRT_URI: 'qemu:///system',
          QX_AGENT_NETWORKD_DIR: '',
        },
        async () =>
          (existsSync(join(dirs.agentB, 'join-token')) || existsSync(join(dirs.agentB, 'identity', 'vdc-ca.crt'))) &&
          (await listening(9443, B_IP)),
        { command: inB(holder, []) },
      );
    };
    await startA();
    await startB();
    const serverEnv = {
      QX_LOCAL_AGENT_ADDRESS: opts.localOverUnix ? `unix:${join(dirs.agentA, 'local', 'agent.sock')}` : addressA,
      QX_LOCAL_AGENT_DATA_DIR: dirs.agentA,
    };
    if (!opts.startServer) server = await startTestServer(serverEnv);
    let api = opts.startServer ? await opts.startServer(serverEnv) : server!.admin;
    const hostA = await eventually('host A (local) online', async () => {
      const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
      return hosts.find((h) => h.local && h.status === 'online');
    });

    const token = (await readFile(join(dirs.agentB, 'join-token'), 'utf8')).trim();
    const probe = await api.request<HostProbeDto>('POST', '/api/v1/hosts/probe', { body: { address: addressB } });
    if (probe.status !== 200) throw new Error(`probe host B: ${probe.status} ${probe.text}`);
    const added = await api.request<HostDto>('POST', '/api/v1/hosts', {
      body: { address: addressB, fingerprint: probe.json.fingerprint, joinToken: token, name: 'qxc-host-b' },
    });
    if (added.status !== 201) throw new Error(`join host B: ${added.status} ${added.text}`);
    const hostB = await eventually(
      'host B online',
      async () => {
        const h = (await api.request<HostDto>('GET', `/api/v1/hosts/${added.json.id}`)).json;
        return h.status === 'online' && h;
      },
      30_000,
    );

    const waitTask = (id: string, timeoutMs = 180_000) =>
      eventually(
        `task ${id}`,
        async () => {
          const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
          return t.status !== 'running' && t;
        },
        timeoutMs,
      );
    const makePool = async (hostId: string, name: string, path: string) => {
      // A busy machine (shared libvirtd, load far above its 2 cores) can miss the 30 s check deadline.
      let r = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, {
        body: { name, kind: 'dir', path },
      });
      for (let i = 0; i < 3 && r.status === 504; i++)
        r = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, { body: { name, kind: 'dir', path } });
      if (r.status !== 202) throw new Error(`pool ${name}: ${r.status} ${r.text}`);
      const t = await waitTask(r.json.id);
      if (t.status !== 'succeeded') throw new Error(`pool ${name}: ${t.error}`);
    };
    await makePool(hostA.id, 'qxc-pool-a', dirs.poolA);
    await makePool(hostB.id, 'qxc-pool-b', dirs.poolB);

    const a: ClusterHost = {
      id: hostA.id,
      name: hostA.name,
      address: addressA,
      pool: 'qxc-pool-a',
      poolDir: dirs.poolA,
      get agent() {
        return agentA!;
      },
      virsh: virshA,
      killAgent: async () => agentA?.kill('SIGKILL'),
      startAgent: startA,
    };
    const b: ClusterHost = {
      id: hostB.id,
      name: hostB.name,
      address: addressB,
      pool: 'qxc-pool-b',
      poolDir: dirs.poolB,
      get agent() {
        return agentB!;
      },
      virsh: virshB,
      killAgent: async () => agentB?.kill('SIGKILL'),
      startAgent: startB,
    };
    return {
      get server() {
        return server!;
      },
      get api() {
        return api;
      },
      a,
      b,
      bRunDir: dirs.run,
      bVarLibDir: dirs.varlib,
      bLogDir: dirs.log,
      linkDown: async () => void (await ip('link', 'set', HOST_SIDE, 'down')),
      linkUp: async () => void (await ip('link', 'set', HOST_SIDE, 'up')),
      waitTask,
      useApi: (other) => void (api = other),
      async restartServer() {
        const dataDir = server!.dataDir;
        await server!.services.stop();
        await server!.running.close();
        server = undefined;
        restartedDataDir = dataDir;
        server = await startTestServer(serverEnv, { dataDir, setup: false });
        const login = await server.admin.login('admin', ADMIN_PASSWORD);
        if (login.status !== 200) throw new Error(`sign in after restart: ${login.status} ${login.text}`);
        api = server.admin;
      },
      async createGuestVm(host, name, opts = {}) {
        if (!name.startsWith(PREFIX)) throw new Error(`VM names in cluster tests start with ${PREFIX}`);
        const volume = `${name}.qcow2`;
        const { reply } = await api.upload(
          `/api/v1/hosts/${host.id}/pools/${host.pool}/uploads`,
          { name: volume, format: 'qcow2', sizeBytes: statSync(GUEST_QCOW2).size },
          createReadStream(GUEST_QCOW2),
        );
        if (reply.status !== 200) throw new Error(`upload to ${host.name}: ${reply.status} ${reply.text}`);
        const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
          body: {
            name,
            hostId: host.id,
            pool: host.pool,
            memoryMib: opts.memoryMib ?? 128,
            disks: [{ pool: host.pool, volume }],
            start: true,
            ...opts.spec,
          },
        });
        if (created.status !== 202) throw new Error(`create ${name}: ${created.status} ${created.text}`);
        const t = await waitTask(created.json.id);
        if (t.status !== 'succeeded') throw new Error(`create ${name}: ${t.error}`);
        const vmId = (t.result as { vmId: string }).vmId;
        return (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
