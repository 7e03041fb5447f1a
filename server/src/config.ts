// Server configuration: an optional JSON file (QX_SERVER_CONFIG or <dataDir>/config.json)
// overlaid by environment variables, with defaults that work in `make dev`.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import type { MemberSettings } from './services/controlplane-member.js';

export interface LocalAgentConfig {
  address: string;
  dataDir: string;
  /**
   * Where the other servers of an etcd control plane reach this agent over mutual TLS
   * (QX_LOCAL_AGENT_NETWORK_ADDRESS, host:port; ":port" = this machine's management address). The
   * host is recorded under it there; this server still uses `address` (its socket).
   */
  networkAddress?: string;
}

export interface ServerConfig {
  dataDir: string;
  listenHost: string;
  listenPort: number;
  /** Plain-HTTP listener that only redirects to HTTPS; undefined = none. */
  httpListen: { host: string; port: number } | undefined;
  /** Built UI (ui/dist); served for every non-API path. */
  uiDir: string;
  /** The appliance's own agent, joined automatically at start; `unix:/path` = its private socket, no TLS. */
  localAgent: LocalAgentConfig | undefined;
  /** First admin password (env QX_ADMIN_PASSWORD or kernel cmdline quantix.admin_password=). */
  adminPassword: string | undefined;
  /** First-run setup code (env QX_SETUP_CODE or kernel cmdline quantix.setup_code=); else one is made. */
  setupCode: string | undefined;
  /** Public origin(s) accepted for websocket Origin checks besides the request's own Host. */
  extraOrigins: string[];
  sessionHours: number;
  /** This build's version (the root package.json's: @quantix/proto/appliance/build-version.ts). */
  version: string;
  /** Limits against slow or greedy clients (see ConnectionBounds). */
  bounds: ConnectionBounds;
  /** Metrics history files are written this often (QX_SERVER_METRICS_FLUSH_INTERVAL, seconds; 300). */
  metricsFlushMs: number;
  /** First start: a default pool on the local host (QX_DEFAULT_POOL: off, auto or bytes; off). */
  defaultPool: 'off' | 'auto' | number;
  /** Root under which appliance settings are written (QX_APPLIANCE_ROOT; "/" on the appliance); unset: kept only. */
  applianceRoot: string | undefined;
  /** A/B updates: uploaded bundle and attempt state (QX_UPDATE_DIR; <dataDir>/update) and the key checking bundles (QX_UPDATE_KEY). */
  update: { dir: string; keyFile: string };
  /** Updating other appliance hosts: how long one may take to come back on the new version (QX_HOST_UPDATE_TIMEOUT_S; 1200). */
  hostUpdate: { onlineTimeoutMs: number };
  /** Where the configuration lives (QX_STORE): this server's lowdb file, or an etcd cluster. */
  store: StoreConfig;
  /** This appliance's etcd member of a control plane (services/controlplane-member.ts); its address: memberAddressSetting. */
  controlPlane: MemberSettings;
  /** Form or join a control plane at first start (QX_CONTROLPLANE or quantix.controlplane=; controlplane-boot.ts). */
  controlPlaneBoot: string | undefined;
}

/** QX_STORE=embedded (default) or etcd with QX_ETCD_ENDPOINTS and client TLS files QX_ETCD_CA/CERT/KEY. */
export type StoreConfig =
  { kind: 'embedded' } | { kind: 'etcd'; endpoints: string[]; caFile?: string; certFile?: string; keyFile?: string };

/** Timeouts in ms, sizes in bytes; env overrides in seconds / bytes (tests use short ones). */
export interface ConnectionBounds {
  /** A request's headers must arrive within this (QX_SERVER_HEADERS_TIMEOUT, 20 s). */
  headersTimeoutMs: number;
  /** A request's body must arrive within this after its headers, streaming uploads excepted (QX_SERVER_REQUEST_TIMEOUT, 60 s). */
  requestTimeoutMs: number;
  /** Streaming uploads and downloads: closed after this long without a byte moving (QX_SERVER_IDLE_TIMEOUT, 60 s). */
  idleTimeoutMs: number;
  /** A TLS handshake must finish within this (QX_SERVER_TLS_HANDSHAKE_TIMEOUT, 10 s). */
  handshakeTimeoutMs: number;
  /** Open connections per source address; more are closed at accept (QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS, 64). */
  maxConnectionsPerAddress: number;
  /** An SSE stream whose unsent bytes pass this is closed (QX_SERVER_SSE_BUFFER_BYTES, 1 MiB). */
  sseBufferBytes: number;
  /** A console/shell websocket whose unsent bytes pass this is closed (QX_SERVER_WS_BUFFER_BYTES, 4 MiB). */
  wsBufferBytes: number;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env, cmdline = readCmdline()): ServerConfig {
  const dataDir = resolve(env.QX_SERVER_DATA_DIR ?? '/var/lib/quantix/server');
  const file = env.QX_SERVER_CONFIG ?? join(dataDir, 'config.json');
  const fromFile = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | undefined>)
    : {};
  const get = (envName: string, key: string) => env[envName] ?? fromFile[key];
  const [listenHost, listenPort] = splitHostPort(
    get('QX_SERVER_LISTEN', 'listen') ?? '0.0.0.0:443',
    'QX_SERVER_LISTEN',
  );
  // On the appliance (HTTPS on 443) plain HTTP on 80 redirects by default; "off" disables it.
  const httpSetting =
    get('QX_SERVER_HTTP_LISTEN', 'httpListen') ?? (listenPort === 443 ? `${listenHost}:80` : undefined);
  const httpListen = httpSetting === 'off' ? undefined : httpSetting;
  const agentAddress = get('QX_LOCAL_AGENT_ADDRESS', 'localAgentAddress');
  const agentDataDir = get('QX_LOCAL_AGENT_DATA_DIR', 'localAgentDataDir');
  if (agentAddress?.startsWith('unix:') && !agentAddress.startsWith('unix:/'))
    throw new Error(`QX_LOCAL_AGENT_ADDRESS: expected unix:/absolute/path or host:port, got "${agentAddress}"`);
  const agentNetworkAddress = get('QX_LOCAL_AGENT_NETWORK_ADDRESS', 'localAgentNetworkAddress');
  if (agentNetworkAddress) splitHostPort(agentNetworkAddress, 'QX_LOCAL_AGENT_NETWORK_ADDRESS');
  return {
    dataDir,
    listenHost,
    listenPort,
    httpListen: httpListen
      ? (([host, port]) => ({ host, port }))(splitHostPort(httpListen, 'QX_SERVER_HTTP_LISTEN'))
      : undefined,
    uiDir: resolve(get('QX_UI_DIR', 'uiDir') ?? join(repoRoot, 'ui/dist')),
    localAgent:
      agentAddress && agentDataDir
        ? {
            address: agentAddress,
            dataDir: agentDataDir,
            ...(agentNetworkAddress ? { networkAddress: agentNetworkAddress } : {}),
          }
        : undefined,
    adminPassword: env.QX_ADMIN_PASSWORD || cmdlineValue(cmdline, 'quantix.admin_password'),
    setupCode: env.QX_SETUP_CODE || cmdlineValue(cmdline, 'quantix.setup_code'),
    extraOrigins: (get('QX_SERVER_ORIGINS', 'origins') ?? '').split(',').filter(Boolean),
    sessionHours: Number(get('QX_SESSION_HOURS', 'sessionHours') ?? 12),
    version: BUILD_VERSION,
    bounds: loadBounds(env),
    metricsFlushMs: flushInterval(env.QX_SERVER_METRICS_FLUSH_INTERVAL),
    defaultPool: defaultPoolSetting(get('QX_DEFAULT_POOL', 'defaultPool')),
    applianceRoot: env.QX_APPLIANCE_ROOT ? resolve(env.QX_APPLIANCE_ROOT) : undefined,
    update: {
      dir: resolve(env.QX_UPDATE_DIR || join(dataDir, 'update')),
      keyFile: resolve(env.QX_UPDATE_KEY || join(env.QX_APPLIANCE_ROOT || '/', 'usr/lib/quantix/update-key.pem')),
    },
    hostUpdate: { onlineTimeoutMs: Number(env.QX_HOST_UPDATE_TIMEOUT_S || 1200) * 1000 },
    store: storeSetting(get),
    controlPlane: memberSettings(env, dataDir, memberAddressSetting(env, cmdline, fromFile, file)),
    controlPlaneBoot: env.QX_CONTROLPLANE || cmdlineValue(cmdline, 'quantix.controlplane'),
  };
}

function storeSetting(get: (envName: string, key: string) => string | undefined): StoreConfig {
  const kind = get('QX_STORE', 'store') ?? 'embedded';
  if (kind === 'embedded') return { kind };
  if (kind !== 'etcd') throw new Error(`QX_STORE: expected embedded or etcd, got "${kind}"`);
  const endpoints = (get('QX_ETCD_ENDPOINTS', 'etcdEndpoints') ?? '').split(',').filter(Boolean);
  if (!endpoints.length || endpoints.some((e) => !/^https?:\/\/[^/]+$/.test(e)))
    throw new Error(`QX_ETCD_ENDPOINTS: expected http(s)://host:port[,…], got "${endpoints.join(',')}"`);
  const file = (envName: string, key: string) => {
    const v = get(envName, key);
    return v ? resolve(v) : undefined;
  };
  const tls = {
    caFile: file('QX_ETCD_CA', 'etcdCa'),
    certFile: file('QX_ETCD_CERT', 'etcdCert'),
    keyFile: file('QX_ETCD_KEY', 'etcdKey'),
  };
  if (!tls.certFile !== !tls.keyFile) throw new Error('QX_ETCD_CERT and QX_ETCD_KEY: give both or neither');
  return { kind, endpoints, ...tls };
}

/**
 * The address this appliance's etcd member uses, and the setting that gave it: QX_CONTROLPLANE_ADDRESS
 * (tests), else quantix.controlplane_address= on the kernel command line, else controlplaneAddress
 * in config.json; none: controlplane-address.ts picks it. Checked against this machine's addresses
 * where it is used (controlplane-address.ts), since they may come up after the server starts.
 */
function memberAddressSetting(
  env: NodeJS.ProcessEnv,
  cmdline: string,
  fromFile: Record<string, string | undefined>,
  file: string,
): Pick<MemberSettings, 'address' | 'addressSetting'> {
  const sources: [string, string | undefined][] = [
    ['QX_CONTROLPLANE_ADDRESS', env.QX_CONTROLPLANE_ADDRESS],
    ['quantix.controlplane_address=', cmdlineValue(cmdline, 'quantix.controlplane_address')],
    [`controlplaneAddress in ${file}`, fromFile.controlplaneAddress],
  ];
  const found = sources.find(([, value]) => value?.trim());
  return found ? { address: found[1]!.trim(), addressSetting: found[0] } : {};
}

/**
 * QX_CONTROLPLANE_ROOT (default: the data dir's parent, /var/lib/quantix): etcd/ holds the member,
 * etcd-client/ the server's client TLS; QX_ETCD_CLIENT_PORT/QX_ETCD_PEER_PORT (2379/2380);
 * QX_ETCD_MEMBER_START: the argv (space-separated, no shell) that (re)starts the member;
 * `address`: the address the member uses (memberAddressSetting).
 */
function memberSettings(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  address: Pick<MemberSettings, 'address' | 'addressSetting'>,
): MemberSettings {
  const root = resolve(env.QX_CONTROLPLANE_ROOT || join(dataDir, '..'));
  const port = (name: string, fallback: number) => {
    const n = Number(env[name] || fallback);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}: expected a port, got "${env[name]}"`);
    return n;
  };
  return {
    memberDir: join(root, 'etcd'),
    clientDir: join(root, 'etcd-client'),
    clientPort: port('QX_ETCD_CLIENT_PORT', 2379),
    peerPort: port('QX_ETCD_PEER_PORT', 2380),
    startCommand: (env.QX_ETCD_MEMBER_START || 'systemctl restart quantix-etcd-member.service')
      .split(' ')
      .filter(Boolean),
    ...address,
  };
}

function flushInterval(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 300_000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1 || n > 86_400)
    throw new Error(`QX_SERVER_METRICS_FLUSH_INTERVAL: expected seconds between 1 and 86400, got "${raw}"`);
  return Math.round(n * 1000);
}

/** The appliance sets `auto` (services/default-pool.ts has the rule); a size in bytes is for tests. */
function defaultPoolSetting(raw: string | undefined): 'off' | 'auto' | number {
  if (raw === undefined || raw === '' || raw === 'off') return 'off';
  if (raw === 'auto') return 'auto';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 67_108_864)
    throw new Error(`QX_DEFAULT_POOL: expected off, auto or a size of at least 64 MiB in bytes, got "${raw}"`);
  return n;
}

function loadBounds(env: NodeJS.ProcessEnv): ConnectionBounds {
  const num = (name: string, fallback: number, scale: number, integer = false): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new Error(`${name}: expected a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
    }
    return Math.round(n * scale);
  };
  return {
    headersTimeoutMs: num('QX_SERVER_HEADERS_TIMEOUT', 20_000, 1000),
    requestTimeoutMs: num('QX_SERVER_REQUEST_TIMEOUT', 60_000, 1000),
    idleTimeoutMs: num('QX_SERVER_IDLE_TIMEOUT', 60_000, 1000),
    handshakeTimeoutMs: num('QX_SERVER_TLS_HANDSHAKE_TIMEOUT', 10_000, 1000),
    maxConnectionsPerAddress: num('QX_SERVER_MAX_CONNECTIONS_PER_ADDRESS', 64, 1, true),
    sseBufferBytes: num('QX_SERVER_SSE_BUFFER_BYTES', 1024 * 1024, 1, true),
    wsBufferBytes: num('QX_SERVER_WS_BUFFER_BYTES', 4 * 1024 * 1024, 1, true),
  };
}

function readCmdline(): string {
  try {
    return readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}

/** `key=value` from a kernel command line (value without spaces). */
export function cmdlineValue(cmdline: string, key: string): string | undefined {
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word.startsWith(`${key}=`)) return word.slice(key.length + 1) || undefined;
  }
  return undefined;
}

export function splitHostPort(value: string, what: string): [string, number] {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${what}: expected host:port, got "${value}"`);
  }
  return [value.slice(0, at).replace(/^\[|\]$/g, ''), port];
}
