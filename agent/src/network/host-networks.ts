// Host networks (NetworkService's logic): create with validation and rollback, list with
// state/leases/users, delete refused while a VM uses the network. Publishes `network` WatchEvents.
import { NetworkKind, type Network, type NetworkSpec } from '@quantix/proto/v1/network.js';
import type { AgentConfig } from '../config.js';
import type { AgentContext } from '../context.js';
import { networkKindNames } from '../enum-names.js';
import { AgentError, ErrorCode, failedPrecondition, notFound } from '../errors.js';
import { Virsh } from '../libvirt/virsh.js';
import { validateName } from '../validate/name.js';
import { checkPlanAgainstHost } from './network-checks.js';
import { readHostInterfaces } from './host-interfaces.js';
import {
  domainNics,
  networkDefine,
  networkDumpXml,
  networkLeases,
  networkNames,
  networkRemove,
  networkStart,
} from './network-libvirt.js';
import { planNetwork } from './network-plan.js';
import { buildNetworkXml } from './network-xml-build.js';
import { parseNetworkXml, type ParsedNetwork } from './network-xml-parse.js';
import type { DomainNics } from './domain-nics-parse.js';
import { resolveNetworkdDir } from './networkd-runtime.js';
import { attachUplinkBridge, detachUplinkBridge, linkExists } from './uplink-bridge.js';

/** What the network logic needs from the agent context (start-up code has no full context). */
export type NetworkDeps = Pick<AgentContext, 'virsh' | 'bus'> & { config: Pick<AgentConfig, 'networkdDir'> };

/** One change at a time: the overlap and name checks must see the previous change's result. */
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

async function readParsedNetworks(virsh: Virsh): Promise<{ parsed: ParsedNetwork[]; active: Set<string> }> {
  const { all, active } = await networkNames(virsh);
  // A network removed between the list and its dump (by someone else) is simply left out.
  const parsed = await Promise.all(all.map((n) => networkDumpXml(virsh, n).then(parseNetworkXml, () => undefined)));
  return { parsed: parsed.filter((p) => p !== undefined), active };
}

function usersOf(n: ParsedNetwork, domains: DomainNics[]): string[] {
  return domains
    .filter((d) =>
      d.nics.some(
        (nic) =>
          (nic.type === 'network' && nic.network === n.name) ||
          (nic.type === 'bridge' && n.bridge !== '' && nic.bridge === n.bridge),
      ),
    )
    .map((d) => d.name)
    .sort();
}

async function describe(virsh: Virsh, n: ParsedNetwork, active: boolean, domains: DomainNics[]): Promise<Network> {
  let error = '';
  if (n.kind === 'bridged' && n.bridge && !(await linkExists(n.bridge))) {
    error = `bridge ${n.bridge} is missing${n.uplink ? ` (uplink ${n.uplink})` : ''}; the agent re-creates it at start-up`;
  }
  const leases =
    active && n.subnet
      ? await networkLeases(virsh, n.name).catch((e: unknown) => {
          error = `leases: ${Virsh.message(e)}`;
          return [];
        })
      : [];
  return {
    spec: {
      name: n.name,
      kind: networkKindNames.value(n.kind) ?? NetworkKind.NETWORK_KIND_UNSPECIFIED,
      subnet: n.subnetText,
      dhcpStart: n.dhcpStart,
      dhcpEnd: n.dhcpEnd,
      bridge: n.bridge,
      uplink: n.uplink,
      vlanId: n.vlanId,
      confirmManagementMove: false,
    },
    active,
    bridge: n.bridge,
    leases,
    usedBy: usersOf(n, domains),
    error,
  };
}

export async function listNetworks(ctx: NetworkDeps): Promise<Network[]> {
  const [{ parsed, active }, domains] = await Promise.all([readParsedNetworks(ctx.virsh), domainNics(ctx.virsh)]);
  return Promise.all(parsed.map((n) => describe(ctx.virsh, n, active.has(n.name), domains)));
}

export async function getNetwork(ctx: NetworkDeps, name: string): Promise<Network> {
  validateName('name', name);
  const { all, active } = await networkNames(ctx.virsh);
  if (!all.includes(name)) throw notFound(`network "${name}"`);
  const parsed = parseNetworkXml(await networkDumpXml(ctx.virsh, name));
  return describe(ctx.virsh, parsed, active.has(name), await domainNics(ctx.virsh));
}

export async function createNetwork(ctx: NetworkDeps, spec: NetworkSpec): Promise<Network> {
  const plan = planNetwork(spec);
  return serialized(async () => {
    const [{ parsed }, interfaces] = await Promise.all([readParsedNetworks(ctx.virsh), readHostInterfaces()]);
    const nic = checkPlanAgainstHost(plan, { networks: parsed, interfaces });
    const networkdDir = plan.kind === 'bridged' ? await resolveNetworkdDir(ctx.config.networkdDir) : undefined;
    if (plan.kind === 'bridged' && nic) await attachUplinkBridge(plan, { nic, networkdDir });
    let defined = false;
    try {
      await networkDefine(ctx.virsh, buildNetworkXml(plan));
      defined = true;
      await networkStart(ctx.virsh, plan.name);
    } catch (err) {
      if (defined) await networkRemove(ctx.virsh, plan.name).catch(() => undefined);
      if (plan.kind === 'bridged') await detachUplinkBridge(plan, networkdDir).catch(() => undefined);
      throw new AgentError(ErrorCode.Internal, `network "${plan.name}": ${Virsh.message(err)}`, undefined, {
        cause: err,
      });
    }
    const network = await getNetwork(ctx, plan.name);
    ctx.bus.publish({ event: { $case: 'network', value: { network, removed: false } } });
    return network;
  });
}

export async function deleteNetwork(ctx: NetworkDeps, name: string): Promise<void> {
  validateName('name', name);
  return serialized(async () => {
    const network = await getNetwork(ctx, name);
    if (network.usedBy.length > 0) {
      throw failedPrecondition(
        `network "${name}" is used by VM(s) ${network.usedBy.join(', ')}; remove their NICs first`,
      );
    }
    await networkRemove(ctx.virsh, name);
    if (network.spec!.kind === NetworkKind.NETWORK_KIND_BRIDGED && network.spec!.uplink) {
      await detachUplinkBridge(
        { bridge: network.bridge, uplink: network.spec!.uplink, vlanId: network.spec!.vlanId },
        await resolveNetworkdDir(ctx.config.networkdDir),
      );
    }
    ctx.bus.publish({ event: { $case: 'network', value: { network, removed: true } } });
  });
}
