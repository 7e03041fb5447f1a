// Agent configuration: environment variables with defaults that work on the appliance and in `make dev`.
import { resolve } from 'node:path';

export interface AgentConfig {
  /** Identity, state (pool definitions), loop-pool backing files and mounts live below this. */
  dataDir: string;
  listenHost: string;
  listenPort: number;
  /**
   * gRPC without TLS for the server on this host (QX_AGENT_LOCAL_SOCKET; default
   * <dataDir>/local/agent.sock unless longer than a socket path may be, "" = none): 0600 in a 0700
   * directory, see private-socket.ts.
   */
  localSocket: string | undefined;
  libvirtUri: string;
  /** Where the one-time join token is written for the operator (console screen, file). */
  joinTokenFile: string;
  /** How long a join token is valid (QX_AGENT_JOIN_TOKEN_LIFETIME_S, default an hour). */
  joinTokenLifetimeMs: number;
  /**
   * Runtime systemd-networkd files for bridged networks (QX_AGENT_NETWORKD_DIR; "" = never). Unset:
   * /run/systemd/network whenever networkd runs on the host.
   */
  networkdDir: string | undefined;
  /**
   * Holds the boot id of the boot whose autostart VMs were started (QX_AGENT_AUTOSTART_MARKER):
   * under /run, so the first agent start of each boot runs autostart and later restarts do not.
   */
  autostartMarker: string;
  /**
   * The appliance root ("/" on the appliance: QX_APPLIANCE_ROOT; unset: not an appliance, the vDC
   * cannot update this host's system). Tests point it at a directory laid out as one.
   */
  applianceRoot: string | undefined;
  /** The image's own key checking update bundles (QX_UPDATE_KEY; <root>/usr/lib/quantix/update-key.pem). */
  updateKeyFile: string;
  /** Where an update bundle is received (<dataDir>/update: the data disk), removed once installed or refused. */
  updateDir: string;
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const dataDir = env.QX_AGENT_DATA_DIR ?? '/var/lib/quantix/agent';
  const [host, port] = splitHostPort(env.QX_AGENT_LISTEN ?? '0.0.0.0:9443');
  return {
    dataDir,
    listenHost: host,
    listenPort: port,
    localSocket: localSocket(env.QX_AGENT_LOCAL_SOCKET, dataDir),
    libvirtUri: env.QX_LIBVIRT_URI ?? 'qemu:///system',
    joinTokenFile: env.QX_AGENT_JOIN_TOKEN_FILE ?? `${dataDir}/join-token`,
    joinTokenLifetimeMs:
      positiveSeconds(env.QX_AGENT_JOIN_TOKEN_LIFETIME_S ?? '3600', 'QX_AGENT_JOIN_TOKEN_LIFETIME_S') * 1000,
    networkdDir: env.QX_AGENT_NETWORKD_DIR,
    autostartMarker: env.QX_AGENT_AUTOSTART_MARKER ?? '/run/quantix/agent-autostart-boot-id',
    applianceRoot: env.QX_APPLIANCE_ROOT ? resolve(env.QX_APPLIANCE_ROOT) : undefined,
    updateKeyFile: resolve(
      env.QX_UPDATE_KEY || resolve(env.QX_APPLIANCE_ROOT || '/', 'usr/lib/quantix/update-key.pem'),
    ),
    updateDir: resolve(dataDir, 'update'),
  };
}

function localSocket(value: string | undefined, dataDir: string): string | undefined {
  if (value === '') return undefined;
  const path = value ?? resolve(dataDir, 'local', 'agent.sock');
  // sockaddr_un holds 108 bytes with the terminating NUL: a default below a data dir that deep is
  // left out (the agent still listens on TCP); a path asked for must fit.
  if (value === undefined && Buffer.byteLength(path) > 107) return undefined;
  if (!path.startsWith('/') || Buffer.byteLength(path) > 107)
    throw new Error(`QX_AGENT_LOCAL_SOCKET: expected an absolute path of at most 107 bytes, got "${path}"`);
  return path;
}

function positiveSeconds(value: string, name: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1)
    throw new Error(`${name}: expected a whole number of seconds >= 1, got "${value}"`);
  return n;
}

function splitHostPort(value: string): [string, number] {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`QX_AGENT_LISTEN: expected host:port, got "${value}"`);
  }
  return [value.slice(0, at).replace(/^\[|\]$/g, ''), port];
}
