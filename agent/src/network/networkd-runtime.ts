// Keeps systemd-networkd (the appliance's network manager) off a NIC the agent made a bridge port:
// runtime .network files for the port and the bridge, written atomically and removed with the
// bridge, then `networkctl reload`. Without them networkd's DHCP client on the NIC would put the
// address back on the port at the next lease renewal. File contents: networkd-files.ts.
import { readdir, readFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { run } from '../exec/run.js';
import { log } from '../log.js';
import {
  bridgeNetworkFile,
  networkdFileNames,
  networkFileDhcp,
  parseLeaseClientId,
  parseNetworkdState,
  portNetworkFile,
  uplinkAddressing,
  type BridgeAddressing,
  type IpAddrInfo,
} from './networkd-files.js';
import type { IpRoute } from './uplink-batch.js';

/** networkd reads runtime configuration from here (tmpfs: empty after a reboot). */
export const NETWORKD_RUNTIME_DIR = '/run/systemd/network';
/** networkd's per-link state and DHCP leases (named by ifindex). */
const NETIF_DIR = '/run/systemd/netif';

/** True when a systemd-networkd process runs on this host (its comm name is cut to 15 characters). */
export async function networkdRunning(): Promise<boolean> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'systemd-network') return true;
  }
  return false;
}

/**
 * Where the agent writes networkd files: the configured directory ("" = never), or by default
 * /run/systemd/network whenever networkd runs here (undefined: write none).
 */
export async function resolveNetworkdDir(configured: string | undefined): Promise<string | undefined> {
  if (configured !== undefined) return configured || undefined;
  return (await networkdRunning()) ? NETWORKD_RUNTIME_DIR : undefined;
}

/** What the bridge over `nic` must carry: read before the move, from `ip` and networkd's state for it. */
export async function readUplinkAddressing(nic: string, routes: IpRoute[]): Promise<BridgeAddressing> {
  const { stdout } = await run('ip', ['-j', 'addr', 'show', 'dev', nic]);
  const [entry] = JSON.parse(stdout || '[]') as { ifindex?: number; addr_info?: IpAddrInfo[] }[];
  const ifindex = entry?.ifindex;
  const state = ifindex ? await readFile(join(NETIF_DIR, 'links', String(ifindex)), 'utf8').catch(() => '') : '';
  const networkFile = parseNetworkdState(state).get('NETWORK_FILE');
  const dhcp = networkFile ? networkFileDhcp(await readFile(networkFile, 'utf8').catch(() => '')) : '';
  const lease = ifindex ? await readFile(join(NETIF_DIR, 'leases', String(ifindex)), 'utf8').catch(() => '') : '';
  return uplinkAddressing({ addrInfo: entry?.addr_info ?? [], routes, dhcp, clientId: parseLeaseClientId(lease) });
}

export interface BridgeNetworkdFiles {
  bridge: string;
  /** The bridge port: the NIC itself, or its VLAN sub-interface. */
  port: string;
  uplink: string;
  addressing: BridgeAddressing;
}

/** Writes the port's and the bridge's files into `dir`, then has networkd reload. */
export async function writeBridgeNetworkd(dir: string, f: BridgeNetworkdFiles): Promise<void> {
  const names = networkdFileNames(f.bridge, f.port);
  const port = portNetworkFile(f.port, f.bridge);
  const bridge = bridgeNetworkFile(f.bridge, f.uplink, f.addressing);
  try {
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, names.port), port, 0o644);
    await writeFileAtomic(join(dir, names.bridge), bridge, 0o644);
  } catch (err) {
    throw new Error(`writing networkd files for bridge ${f.bridge} in ${dir} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  log.info('networkd files written', { dir, bridge: f.bridge, port: f.port, dhcp: f.addressing.dhcp });
  await reloadNetworkd();
}

/** Removes what writeBridgeNetworkd wrote (missing files are fine), then has networkd reload. */
export async function removeBridgeNetworkd(dir: string, bridge: string, port: string): Promise<void> {
  const names = networkdFileNames(bridge, port);
  for (const name of [names.port, names.bridge, `.${names.port}.tmp`, `.${names.bridge}.tmp`]) {
    await rm(join(dir, name), { force: true });
  }
  await reloadNetworkd();
}

/** `networkctl reload` when networkd runs; a failure is logged (the bridge itself works either way). */
async function reloadNetworkd(): Promise<void> {
  if (!(await networkdRunning())) return;
  try {
    await run('networkctl', ['reload'], { timeoutMs: 30_000 });
  } catch (err) {
    log.warn('networkctl reload failed; networkd keeps its old configuration until it reloads', {
      error: (err as Error).message,
    });
  }
}
