// Builds libvirt network XML from a NetworkPlan with the one XML builder (libvirt/xml/builder.ts,
// escapes every value). Pure. What libvirt cannot hold itself (kind, uplink, VLAN) goes into <metadata>.
import { buildXml } from '../libvirt/xml/builder.js';
import type { NetworkPlan } from './network-plan.js';

/** Namespace of the agent's own element in a network's <metadata>. */
export const QX_NETWORK_NS = 'https://quantix-vdc.dev/xmlns/network/1';

export function buildNetworkXml(plan: NetworkPlan): string {
  const meta: Record<string, unknown> = { '@xmlns:qx': QX_NETWORK_NS, 'qx:kind': plan.kind };
  const network: Record<string, unknown> = { name: plan.name, metadata: { 'qx:network': meta } };
  if (plan.kind === 'bridged') {
    meta['qx:uplink'] = plan.uplink;
    if (plan.vlanId) meta['qx:vlan'] = plan.vlanId;
    network.forward = { '@mode': 'bridge' };
    network.bridge = { '@name': plan.bridge };
  } else {
    if (plan.kind === 'nat') network.forward = { '@mode': 'nat' };
    network.bridge = { '@name': plan.bridge, '@stp': 'on', '@delay': '0' };
    network.ip = {
      '@address': plan.hostAddress,
      '@prefix': plan.subnet.prefix,
      dhcp: { range: { '@start': plan.dhcpStart, '@end': plan.dhcpEnd } },
    };
  }
  return buildXml({ network });
}
