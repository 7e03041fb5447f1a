// Agent start-up for networks: bridged networks get their Linux bridge back after a reboot (the
// kernel forgets it, libvirt does not; networkd's runtime files go with it), and with
// QX_AGENT_DEFAULT_NAT=1 a first start creates a NAT network. Both are tried again while libvirtd
// does not answer: a slow first boot must not leave the appliance without its default network.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkKind } from '@quantix/proto/v1/network.js';
import { AgentError } from '../errors.js';
import { libvirtUnreachable, libvirtUp } from '../libvirt/libvirt-ready.js';
import { log } from '../log.js';
import { createNetwork, type NetworkDeps } from './host-networks.js';
import { readHostInterfaces } from './host-interfaces.js';
import { resolveNetworkdDir } from './networkd-runtime.js';
import { networkDumpXml, networkNames, networkStart } from './network-libvirt.js';
import { parseNetworkXml } from './network-xml-parse.js';
import { attachUplinkBridge, linkExists } from './uplink-bridge.js';

export interface DefaultNatOptions {
  name: string;
  /** Tried in order; the first that overlaps nothing on the host is used. */
  subnets: string[];
  /** Written once the default network was made, so a network the operator deleted stays deleted. */
  markerFile: string;
}

export const DEFAULT_NAT: Omit<DefaultNatOptions, 'markerFile'> = {
  name: 'vm-nat',
  subnets: ['10.77.0.0/24', '10.78.0.0/24', '172.31.77.0/24', '192.168.177.0/24'],
};

/** Re-creates missing bridges of bridged networks over their uplink and starts those networks. */
export async function restoreBridgedNetworks(deps: NetworkDeps): Promise<string[]> {
  const restored: string[] = [];
  const { all, active } = await networkNames(deps.virsh);
  const networkdDir = await resolveNetworkdDir(deps.config.networkdDir);
  for (const name of all) {
    const xml = await networkDumpXml(deps.virsh, name).catch(() => undefined);
    if (!xml) continue;
    const n = parseNetworkXml(xml);
    if (n.kind !== 'bridged' || !n.uplink || (await linkExists(n.bridge))) continue;
    const nic = (await readHostInterfaces()).find((i) => i.name === n.uplink);
    if (!nic) {
      log.warn('bridged network: uplink missing, bridge not restored', { network: name, uplink: n.uplink });
      continue;
    }
    await attachUplinkBridge({ bridge: n.bridge, uplink: n.uplink, vlanId: n.vlanId }, { nic, networkdDir });
    if (!active.has(name)) await deps.virsh.exec(['net-start', '--', name]);
    restored.push(name);
  }
  return restored;
}

/**
 * Creates the default NAT network once (first start); returns its subnet, or undefined if it already
 * ran. One left defined but inactive by an attempt that libvirt did not finish is started.
 */
export async function ensureDefaultNat(deps: NetworkDeps, options: DefaultNatOptions): Promise<string | undefined> {
  if (existsSync(options.markerFile)) return undefined;
  const { all, active } = await networkNames(deps.virsh);
  let subnet: string | undefined;
  if (all.includes(options.name)) {
    if (!active.has(options.name)) await networkStart(deps.virsh, options.name);
  } else {
    for (const candidate of options.subnets) {
      try {
        await createNetwork(deps, {
          name: options.name,
          kind: NetworkKind.NETWORK_KIND_NAT,
          subnet: candidate,
          dhcpStart: '',
          dhcpEnd: '',
          bridge: '',
          uplink: '',
          vlanId: 0,
          confirmManagementMove: false,
        });
        subnet = candidate;
        break;
      } catch (err) {
        if (!(err instanceof AgentError && err.field === 'spec.subnet')) throw err;
      }
    }
    if (!subnet)
      throw new Error(`default NAT network: every candidate subnet overlaps (${options.subnets.join(', ')})`);
  }
  await writeFile(options.markerFile, `${new Date().toISOString()}\n`);
  return subnet ?? 'existing';
}

export interface StartNetworksOptions {
  env?: NodeJS.ProcessEnv;
  /** The default NAT network's name and candidate subnets (tests use their own). */
  defaultNat?: Omit<DefaultNatOptions, 'markerFile'>;
  /** Pauses between attempts while libvirtd does not answer (the last one is repeated). */
  retryDelaysMs?: readonly number[];
  /** Gives up after this long without libvirtd answering. */
  giveUpAfterMs?: number;
  signal?: AbortSignal;
}

/** The start-up call main.ts makes; failures are logged, never fatal. */
export async function startNetworks(
  deps: NetworkDeps,
  dataDir: string,
  opts: StartNetworksOptions = {},
): Promise<void> {
  const env = opts.env ?? process.env;
  const delays = opts.retryDelaysMs ?? [5_000, 10_000, 30_000];
  const giveUpAt = Date.now() + (opts.giveUpAfterMs ?? 15 * 60_000);
  const steps: { what: string; run: () => Promise<void> }[] = [
    {
      what: 'restoring bridged networks',
      run: async () => {
        const restored = await restoreBridgedNetworks(deps);
        if (restored.length) log.info('bridged networks restored', { networks: restored });
      },
    },
  ];
  if (env.QX_AGENT_DEFAULT_NAT === '1') {
    steps.push({
      what: 'default NAT network',
      run: async () => {
        const nat = opts.defaultNat ?? DEFAULT_NAT;
        const subnet = await ensureDefaultNat(deps, { ...nat, markerFile: `${dataDir}/default-nat.done` });
        if (subnet) log.info('default NAT network ready', { name: nat.name, subnet });
      },
    });
  }
  for (const step of steps) {
    for (let attempt = 0; ; attempt++) {
      try {
        await step.run();
        break;
      } catch (err) {
        const retry = libvirtUnreachable(err) && Date.now() < giveUpAt && !opts.signal?.aborted;
        log.error(`${step.what} failed${retry ? ', trying again' : ''}`, { error: (err as Error).message });
        if (!retry) break;
        await sleep(delays[Math.min(attempt, delays.length - 1)], undefined, { signal: opts.signal }).catch(
          () => undefined,
        );
        await libvirtUp(deps.virsh, Math.max(0, giveUpAt - Date.now()), opts.signal);
      }
    }
  }
}
