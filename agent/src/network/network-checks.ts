// Checks a NetworkPlan against what already exists on the host: libvirt networks, interfaces and
// their addresses, the uplink NIC. Pure: callers pass in what they read.
import { AgentError, ErrorCode, invalidArgument } from '../errors.js';
import { cidrOf, formatCidr, overlaps, parseIpv4 } from './cidr.js';
import type { HostInterfaceState } from './host-interfaces.js';
import type { NetworkPlan } from './network-plan.js';
import type { ParsedNetwork } from './network-xml-parse.js';

export interface HostView {
  networks: ParsedNetwork[];
  interfaces: HostInterfaceState[];
}

/** Throws the first conflict; returns the uplink NIC for bridged plans. */
export function checkPlanAgainstHost(plan: NetworkPlan, host: HostView): HostInterfaceState | undefined {
  if (host.networks.some((n) => n.name === plan.name)) {
    throw new AgentError(ErrorCode.AlreadyExists, `spec.name: network "${plan.name}" already exists`, 'spec.name');
  }
  const bridgeOwner = host.networks.find((n) => n.bridge === plan.bridge);
  if (bridgeOwner || host.interfaces.some((i) => i.name === plan.bridge)) {
    throw new AgentError(
      ErrorCode.AlreadyExists,
      `spec.bridge: interface "${plan.bridge}" already exists on this host${bridgeOwner ? ` (network "${bridgeOwner.name}")` : ''}`,
      'spec.bridge',
    );
  }
  if (plan.kind !== 'bridged') {
    for (const n of host.networks) {
      if (n.subnet && overlaps(n.subnet, plan.subnet)) {
        throw invalidArgument(
          'spec.subnet',
          `${formatCidr(plan.subnet)} overlaps network "${n.name}" (${n.subnetText})`,
        );
      }
    }
    for (const i of host.interfaces) {
      for (const a of i.addresses) {
        const [ip, prefix] = a.split('/');
        if (ip!.includes(':')) continue;
        const block = cidrOf(parseIpv4('address', ip!), Number(prefix));
        if (overlaps(block, plan.subnet)) {
          throw invalidArgument(
            'spec.subnet',
            `${formatCidr(plan.subnet)} overlaps ${formatCidr(block)} on host interface ${i.name} (${a})`,
          );
        }
      }
    }
    return undefined;
  }
  const nic = host.interfaces.find((i) => i.name === plan.uplink);
  if (!nic) throw invalidArgument('spec.uplink', `host interface "${plan.uplink}" does not exist on this host`);
  if (nic.kind === 'bridge') throw invalidArgument('spec.uplink', `"${nic.name}" is itself a bridge; use a NIC`);
  if (nic.master) throw invalidArgument('spec.uplink', `"${nic.name}" is already a port of bridge ${nic.master}`);
  const taken = host.networks.find(
    (n) => n.kind === 'bridged' && n.uplink === plan.uplink && !plan.vlanId && !n.vlanId,
  );
  if (taken) throw invalidArgument('spec.uplink', `"${nic.name}" already carries network "${taken.name}"`);
  if (nic.management && !plan.vlanId && !plan.confirmManagementMove) {
    throw new AgentError(
      ErrorCode.FailedPrecondition,
      `spec.confirm_management_move: ${nic.name} carries this host's management address/default route; ` +
        `its addresses and routes will move to bridge ${plan.bridge} — set confirm_management_move to proceed`,
      'spec.confirm_management_move',
    );
  }
  return nic;
}
