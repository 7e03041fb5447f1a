// Puts a host NIC under a new Linux bridge (bridged networks) and takes it out again. Addresses
// and routes move in one `ip -batch` run; any failure runs the restore batch, leaving no half-made bridge.
// Where networkd runs, its runtime files for the port and the bridge come and go with the bridge.
import { createHash } from 'node:crypto';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import { ExecError, run } from '../exec/run.js';
import type { HostInterfaceState } from './host-interfaces.js';
import { readUplinkAddressing, removeBridgeNetworkd, writeBridgeNetworkd } from './networkd-runtime.js';
import { NO_ADDRESSING } from './networkd-files.js';
import {
  createBridgeArgs,
  moveToBridgeBatch,
  restoreUplinkBatch,
  type IpRoute,
  type UplinkState,
} from './uplink-batch.js';

export interface UplinkBridge {
  bridge: string;
  uplink: string;
  vlanId: number;
}

export interface UplinkHost {
  nic: HostInterfaceState;
  /** Where networkd's runtime files go (resolveNetworkdDir); undefined: networkd is not in use. */
  networkdDir: string | undefined;
}

async function ipBatch(lines: string[], force = false): Promise<void> {
  await run('ip', [...(force ? ['-force'] : []), '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 30_000 });
}

async function routesOf(dev: string): Promise<IpRoute[]> {
  const out: IpRoute[] = [];
  for (const family of [4, 6] as const) {
    const { stdout } = await run('ip', ['-j', `-${family}`, 'route', 'show', 'dev', dev]);
    for (const r of JSON.parse(stdout || '[]') as IpRoute[]) out.push({ ...r, family });
  }
  return out;
}

/** The VLAN sub-interface name for `uplink` and `vlanId` (≤ 15 characters). */
export function vlanPortName(uplink: string, vlanId: number): string {
  const plain = `${uplink}.${vlanId}`;
  if (plain.length <= 15) return plain;
  return `qxv${vlanId}-${createHash('sha256')
    .update(uplink)
    .digest('hex')
    .slice(0, 15 - 4 - String(vlanId).length)}`;
}

/**
 * Creates `bridge` over `nic`. Untagged: the NIC becomes a bridge port and its global addresses and
 * routes move onto the bridge (which takes the NIC's MAC). Tagged: a VLAN port of the NIC joins the
 * bridge and the NIC keeps its addresses.
 */
export async function attachUplinkBridge(target: UplinkBridge, { nic, networkdDir }: UplinkHost): Promise<void> {
  if (target.vlanId) {
    await attachVlanBridge(target, networkdDir);
    return;
  }
  const routes = await routesOf(nic.name);
  const state: UplinkState = {
    uplink: nic.name,
    bridge: target.bridge,
    addresses: nic.globalAddresses,
    routes,
    uplinkUp: nic.up,
  };
  // Read before the move: afterwards the NIC has no addresses left to tell DHCP from static.
  const addressing = networkdDir ? await readUplinkAddressing(nic.name, routes) : undefined;
  // The NIC's MAC: the bridge then renews the NIC's DHCP lease instead of asking for a new address.
  await createBridge(target.bridge, nic.mac);
  try {
    await ipBatch(moveToBridgeBatch(state));
    // After the move: networkd's reload stops its DHCP client on the NIC and starts one on the bridge.
    if (networkdDir && addressing) {
      await writeBridgeNetworkd(networkdDir, { bridge: target.bridge, port: nic.name, uplink: nic.name, addressing });
    }
  } catch (err) {
    if (networkdDir) await removeBridgeNetworkd(networkdDir, target.bridge, nic.name).catch(() => undefined);
    await ipBatch(restoreUplinkBatch(state), true).catch(() => undefined);
    throw new AgentError(
      ErrorCode.FailedPrecondition,
      `spec.uplink: putting ${nic.name} under bridge ${target.bridge} failed (${nic.name} was restored): ${(err as Error).message}`,
      'spec.uplink',
      { cause: err },
    );
  }
}

async function attachVlanBridge(
  { bridge, uplink, vlanId }: UplinkBridge,
  networkdDir: string | undefined,
): Promise<void> {
  const port = vlanPortName(uplink, vlanId);
  if (await linkExists(port)) {
    throw new AgentError(
      ErrorCode.AlreadyExists,
      `spec.vlan_id: VLAN port ${port} already exists on ${uplink} (another network uses VLAN ${vlanId})`,
      'spec.vlan_id',
    );
  }
  try {
    // Before the port exists: a name like eth0.10 matches the catch-all en*/eth* DHCP file, which
    // would also take the port out of the bridge.
    if (networkdDir) await writeBridgeNetworkd(networkdDir, { bridge, port, uplink, addressing: NO_ADDRESSING });
    await createVlanBridge(bridge, uplink, vlanId, port);
  } catch (err) {
    if (networkdDir) await removeBridgeNetworkd(networkdDir, bridge, port).catch(() => undefined);
    throw err;
  }
}

async function createVlanBridge(bridge: string, uplink: string, vlanId: number, port: string): Promise<void> {
  try {
    await run('ip', ['link', 'add', 'link', uplink, 'name', port, 'type', 'vlan', 'id', String(vlanId)]);
  } catch (err) {
    const text = err instanceof ExecError ? err.stderr : String(err);
    if (/unknown device type|not supported|no such file/i.test(text)) {
      throw new AgentError(
        ErrorCode.FailedPrecondition,
        `spec.vlan_id: this host's kernel has no 802.1Q VLAN support (module 8021q); create the network without a VLAN id`,
        'spec.vlan_id',
        { cause: err },
      );
    }
    throw err;
  }
  try {
    await createBridge(bridge);
  } catch (err) {
    await run('ip', ['link', 'del', 'dev', port]).catch(() => undefined);
    throw err;
  }
  try {
    await ipBatch([`link set dev ${port} master ${bridge}`, `link set dev ${port} up`, `link set dev ${bridge} up`]);
  } catch (err) {
    await ipBatch([`link del dev ${port}`, `link del dev ${bridge}`], true).catch(() => undefined);
    throw err;
  }
}

/**
 * Removes `bridge`, giving its addresses and routes back to the uplink NIC (or dropping the VLAN port),
 * then the networkd files (networkd takes the NIC back under its own configuration).
 */
export async function detachUplinkBridge(
  { bridge, uplink, vlanId }: UplinkBridge,
  networkdDir: string | undefined,
): Promise<void> {
  const port = vlanId ? vlanPortName(uplink, vlanId) : uplink;
  if (await linkExists(bridge)) {
    if (vlanId) {
      await ipBatch([`link del dev ${port}`, `link del dev ${bridge}`], true).catch(() => undefined);
    } else {
      const { stdout } = await run('ip', ['-j', 'addr', 'show', 'dev', bridge]);
      const [entry] = JSON.parse(stdout) as { addr_info?: { local: string; prefixlen: number; scope?: string }[] }[];
      const addresses = (entry?.addr_info ?? [])
        .filter((a) => a.scope === 'global')
        .map((a) => `${a.local}/${a.prefixlen}`);
      const state: UplinkState = { uplink, bridge, addresses, routes: await routesOf(bridge), uplinkUp: true };
      await ipBatch(restoreUplinkBatch(state), true).catch(() => undefined);
    }
    if (await linkExists(bridge)) throw failedPrecondition(`bridge ${bridge} could not be removed`);
  }
  if (networkdDir) await removeBridgeNetworkd(networkdDir, bridge, port);
}

/** Creates an empty bridge (with `mac`, if given); ALREADY_EXISTS when the name is taken (nothing to undo then). */
async function createBridge(bridge: string, mac = ''): Promise<void> {
  try {
    await run('ip', createBridgeArgs(bridge, mac));
  } catch (err) {
    throw new AgentError(
      ErrorCode.AlreadyExists,
      `spec.bridge: could not create bridge ${bridge}: ${(err as Error).message}`,
      'spec.bridge',
      {
        cause: err,
      },
    );
  }
}

export async function linkExists(name: string): Promise<boolean> {
  try {
    await run('ip', ['-j', 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}
