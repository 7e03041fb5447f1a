// The composition root: builds the db, repositories, agent pool and every service from the
// config. main.ts and the tests call createServices(); createApp() takes the result.
import { MigrationService } from './services/migration-service.js';
import { MigrationPreflight } from './services/migration-preflight.js';
import { Evacuation } from './services/evacuation.js';
import { HostUpdate } from './services/host-update.js';
import { migrationHardwareCheck } from './services/cpu-compat.js';
import type { ServerConfig } from './config.js';
import { openConfigStore, type ConfigStore } from './store/config-store.js';
import { EtcdStore } from './store/etcd-store.js';
import { recordIdOf } from './store/config-keys.js';
import { EtcdEventRelay } from './store/etcd-event-relay.js';
import { advertisedUrl, EtcdLeader, SoleLeader, type Leadership } from './services/leader.js';
import { hostname } from 'node:os';
import { SessionRepo, TokenRepo, UserRepo } from './store/user-repo.js';
import { ClusterRepo, HostRepo, VdcRepo } from './store/host-repo.js';
import { AuditRepo, TaskRepo, TemplateRepo } from './store/log-repo.js';
import type { VdcRecord } from './store/records.js';
import { AgentPool } from './agents/agent-pool.js';
import { ensureVdcIdentity } from './agents/vdc-identity.js';
import { AuthService } from './services/auth-service.js';
import { LoginLimiter } from './services/login-limiter.js';
import { SetupCode } from './services/setup-code.js';
import { EventHub } from './services/event-hub.js';
import { TaskService } from './services/task-service.js';
import { AuditService } from './services/audit-service.js';
import { InventoryService } from './services/inventory-service.js';
import { HostService } from './services/host-service.js';
import { ClusterService } from './services/cluster-service.js';
import { VmService } from './services/vm-service.js';
import { StorageService } from './services/storage-service.js';
import { UploadService } from './services/upload-service.js';
import { NetworkService } from './services/network-service.js';
import { ClusterNetworkService } from './services/cluster-network-service.js';
import { ClusterNetworkRepo } from './store/cluster-network-repo.js';
import { TemplateService } from './services/template-service.js';
import { MetricsService } from './services/metrics-service.js';
import { MetricsHistory } from './services/metrics-history.js';
import { EventLogService } from './services/event-log-service.js';
import { Notifier } from './services/notifier.js';
import { EventRepo } from './store/event-repo.js';
import { EtcdHistory } from './store/etcd-history.js';
import { DefaultPool } from './services/default-pool.js';
import { ApplianceSettings } from './services/appliance-settings.js';
import { ApplianceUpdate } from './services/appliance-update.js';
import { HostPower } from './services/host-power.js';
import { TicketStore } from './console/ticket-store.js';
import { HttpsCertificate } from './tls/https-certificate.js';
import { BackupService } from './services/backup-service.js';
import { BackupSchedules } from './services/backup-schedules.js';
import { BackupScheduleRepo } from './store/backup-schedule-repo.js';
import { BackupTargets } from './services/backup-targets.js';
import { ControlPlaneService } from './services/controlplane-service.js';
import { log } from './log.js';
import { HttpError } from './errors.js';

export interface Services {
  config: ServerConfig;
  db: ConfigStore;
  /** Forming and joining a control plane of appliances (#23). */
  controlPlane: ControlPlaneService;
  /** Whether this server runs the once-per-vDC work (always, with the embedded store). */
  leader: Leadership;
  vdc: VdcRecord;
  events: EventHub;
  auth: AuthService;
  tasks: TaskService;
  migrations: MigrationService;
  backups: BackupService;
  /** Backup schedules; the leader runs them. */
  backupSchedules: BackupSchedules;
  /** NFS backup targets (pool "nfs:<name>"). */
  backupTargets: BackupTargets;
  audit: AuditService;
  inventory: InventoryService;
  pool: AgentPool;
  hosts: HostService;
  clusters: ClusterService;
  vms: VmService;
  storage: StorageService;
  uploads: UploadService;
  networks: NetworkService;
  clusterNetworks: ClusterNetworkService;
  templates: TemplateService;
  metrics: MetricsService;
  /** Host and VM resource history (round-robin series under <dataDir>/metrics). */
  history: MetricsHistory;
  eventLog: EventLogService;
  notifier: Notifier;
  /** Hostname, DNS, NTP, time zone of the appliance (applied to its OS files with QX_APPLIANCE_ROOT). */
  appliance: ApplianceSettings;
  /** A/B updates of the appliance this server runs on (bundle upload, slots, apply). */
  applianceUpdate: ApplianceUpdate;
  hostPower: HostPower;
  /** Other appliance hosts updated with the uploaded bundle (maintenance, stream, reboot, back). */
  hostUpdate: HostUpdate;
  tickets: TicketStore;
  certificate: HttpsCertificate;
  /** Connects to the joined hosts and joins the local agent (in the background). */
  start(): void;
  /** Stops background work (agent connections, local join retries) and writes the metrics history. */
  stop(): Promise<void>;
}

export async function createServices(config: ServerConfig): Promise<Services> {
  const db = await openConfigStore(config);
  const serverId = `${hostname()}:${config.listenPort}:${process.pid}`;
  const certificate = await HttpsCertificate.load(config.dataDir);
  // The others forward API requests to the leader at this address, pinned to this certificate.
  const leader: Leadership =
    db instanceof EtcdStore
      ? new EtcdLeader(db.client, serverId, () => ({
          url: advertisedUrl(config.listenHost, config.listenPort),
          certPem: certificate.current.certPem,
        }))
      : new SoleLeader(serverId);
  if (leader instanceof EtcdLeader) certificate.onChange(() => void leader.republish());
  const events = new EventHub();
  // SSE clients of every server see the changes made through any of them.
  const relay = db instanceof EtcdStore ? new EtcdEventRelay(db.client, db.box, events, serverId) : undefined;
  // Listens to the hub from the start, so that failed tasks and host changes are all seen.
  // On an etcd control plane task, audit and event history is shared: the leader shows every server's.
  const sharedHistory = db instanceof EtcdStore ? new EtcdHistory(db.client, db.box) : undefined;
  const eventLog = new EventLogService(await EventRepo.open(config.dataDir, sharedHistory), events);
  const notifier = new Notifier(db);
  eventLog.onEvent = (e) => notifier.notify(e);
  const hostRepo = new HostRepo(db);
  const clusterRepo = new ClusterRepo(db);
  // Servers starting together on a new etcd cluster: the second one's write conflicts and it
  // takes the identity the first one made (the conflict reloaded the configuration).
  const vdc = await afterConflict(() => ensureVdcIdentity(new VdcRepo(db)));
  const history: MetricsHistory = new MetricsHistory(config.dataDir, config.metricsFlushMs, (uuid: string) =>
    pool.all().some((c) => c.vms.has(uuid)),
  );
  const inventory = new InventoryService(events, history, config.version);
  const pool = new AgentPool({ keyPem: vdc.clientKeyPem, certPem: vdc.clientCertPem }, inventory);
  inventory.ownAppliance = (r) => pool.isOwnAppliance(r);
  const tasks = new TaskService(await TaskRepo.open(config.dataDir, sharedHistory), events);
  await tasks.failInterrupted();
  const uploads = new UploadService(tasks, config.bounds.idleTimeoutMs);
  const setupCode = new SetupCode(config.dataDir);
  const limiter = await LoginLimiter.open(config.dataDir);
  const auth = new AuthService(
    new UserRepo(db),
    new SessionRepo(db),
    new TokenRepo(db),
    limiter,
    config.sessionHours,
    setupCode,
  );
  // The kernel-command-line admin (if any) exists before setup is opened with a code.
  await afterConflict(() => bootstrapAdmin(auth, config.adminPassword));
  await setupCode.prepare(auth.needsSetup(), config.setupCode);
  const clusterNetworkRepo = new ClusterNetworkRepo(db);
  const clusters = new ClusterService(clusterRepo, hostRepo, clusterNetworkRepo, pool, inventory, events);
  const hosts = new HostService(hostRepo, clusterRepo, pool, inventory, vdc);
  hosts.sharedStore = db instanceof EtcdStore;
  // Another appliance's server records its own agent as a host: the leader connects to it.
  if (db instanceof EtcdStore)
    db.onRemoteChange = (key) => {
      const id = recordIdOf(key, 'hosts');
      if (id) hosts.followRecord(id);
    };
  const networks = new NetworkService(pool);
  const clusterNetworks = new ClusterNetworkService(clusterNetworkRepo, hostRepo, clusterRepo, pool, networks, events);
  clusters.networkCheck = (hostId, names) => clusterNetworks.placementProblem(hostId, names);
  const abort = new AbortController();
  const preflight = new MigrationPreflight(pool, clusters);
  preflight.cpuCheck = migrationHardwareCheck(pool);
  const migrations = new MigrationService(preflight, tasks, vdc, pool);
  const evacuation = new Evacuation(
    preflight,
    tasks,
    events,
    (id, req, user, opts) => migrations.migrate(id, req, user, opts),
    (c) => inventory.hostChanged(c),
    hostRepo,
  );
  hosts.evacuation = evacuation;
  inventory.maintenanceOf = (c) => ({
    maintenanceState: evacuation.state(c),
    evacuationTaskId: evacuation.taskOf(c),
  });
  const vms = new VmService(pool, inventory, clusters, tasks);
  vms.refuseWhileMoving = (uuid) => migrations.refuseWhileMoving(uuid);
  const storage = new StorageService(pool, inventory, tasks, uploads);
  const audit = new AuditService(await AuditRepo.open(config.dataDir, sharedHistory));
  const backups = new BackupService(pool, vms, tasks, vdc);
  const backupSchedules = new BackupSchedules(new BackupScheduleRepo(db), pool, backups);
  const backupTargets = new BackupTargets(db, pool, (p) =>
    db.data.backupSchedules.filter((s) => s.pool === p).map((s) => s.name),
  );
  backups.nfsTargets = backupTargets;
  const appliance = new ApplianceSettings(config.dataDir, config.applianceRoot);
  const applianceUpdate = new ApplianceUpdate({
    root: config.applianceRoot,
    ...config.update,
    version: config.version,
  });
  await appliance.start();
  if (db.problem) await reportDbProblem(audit, db.problem);
  return {
    config,
    db,
    vdc,
    events,
    auth,
    tasks,
    audit,
    inventory,
    pool,
    hosts,
    clusters,
    vms,
    migrations,
    backups,
    backupSchedules,
    backupTargets,
    storage,
    networks,
    clusterNetworks,
    templates: new TemplateService(new TemplateRepo(db), pool, tasks, events, uploads),
    uploads,
    metrics: new MetricsService(pool, tasks),
    history,
    eventLog,
    notifier,
    appliance,
    applianceUpdate,
    hostPower: new HostPower(pool, tasks),
    hostUpdate: new HostUpdate(pool, tasks, hosts, inventory, applianceUpdate, config.hostUpdate),
    tickets: new TicketStore(),
    controlPlane: new ControlPlaneService({
      db,
      vdc,
      dataDir: config.dataDir,
      settings: config.controlPlane,
      fingerprint: () => certificate.dto().fingerprint,
      releaseLocalAgent: () => hosts.releaseLocalAgent(),
    }),
    certificate,
    leader,
    start() {
      history.start();
      let defaultPool = false;
      leader.run({
        start: () => {
          void tasks
            .adoptShared()
            .catch((err: Error) => log.warn('tasks of the other servers not taken in', { error: err.message }));
          hosts.startAll();
          evacuation.resumeAll(pool);
          backupSchedules.start();
          if (defaultPool || !config.localAgent) return;
          defaultPool = true;
          void new DefaultPool(
            { setting: config.defaultPool, serverDataDir: config.dataDir, agentDataDir: config.localAgent.dataDir },
            events,
            pool,
            storage,
          ).start();
        },
        stop: () => {
          evacuation.close();
          backupSchedules.stop();
          hosts.stopAll();
        },
      });
      // Every server joins its appliance's own agent, leading or not: on a control plane of
      // appliances each one's host is in the vDC, whichever server leads.
      if (config.localAgent) void hosts.joinLocalAgent(config.localAgent, abort.signal);
    },
    async stop() {
      tasks.close();
      abort.abort();
      evacuation.close();
      backupSchedules.stop();
      await leader.close();
      pool.stop();
      notifier.stop();
      await history.stop();
      await relay?.close();
      await db.close();
    },
  };
}

/** Runs `step` again once when another server's write of the same record came first (a 409). */
async function afterConflict<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!(err instanceof HttpError && err.status === 409)) throw err;
    return step();
  }
}

/** A configuration file replaced at start by its last good copy: the admin sees it in the audit log. */
function reportDbProblem(audit: AuditService, problem: string): Promise<void> {
  return audit.record({
    user: 'system',
    action: 'recoverConfiguration',
    method: '-',
    path: '',
    target: 'quantix.db.json',
    status: 500,
    detail: problem,
    remote: '',
  });
}

/** The appliance passes the first admin password (env or kernel command line). */
async function bootstrapAdmin(auth: AuthService, password: string | undefined): Promise<void> {
  if (!password || !auth.needsSetup()) return;
  if (password.length < 12) {
    log.warn('initial admin password ignored: shorter than 12 characters; use the setup page');
    return;
  }
  await auth.createUser('admin', password, 'admin');
  log.info('created user "admin" from the initial password');
}
