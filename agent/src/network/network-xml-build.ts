// Builds libvirt network XML from a NetworkPlan with fast-xml-parser's XMLBuilder (escapes
// every value). Pure. What libvirt cannot hold itself (kind, uplink, VLAN) goes into <metadata>.
import { XMLBuilder } from 'fast-xml-parser';
import type { NetworkPlan } from './network-plan.js';

/** Namespace of the agent's own element in a network's <metadata>. */
export const QX_NETWORK_NS = 'https://quantix-vdc.dev/xmlns/network/1';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  suppressEmptyNode: true,
});

export function buildNetworkXml(plan: NetworkPlan): string {
  const meta: Record<string, unknown> = { '@_xmlns:qx': QX_NETWORK_NS, 'qx:kind': plan.kind };
  const network: Record<string, unknown> = { name: plan.name, metadata: { 'qx:network': meta } };
  if (plan.kind === 'bridged') {
    meta['qx:uplink'] = plan.uplink;
    if (plan.vlanId) meta['qx:vlan'] = plan.vlanId;
    network.forward = { '@_mode': 'bridge' };
    network.bridge = { '@_name': plan.bridge };
  } else {
    if (plan.kind === 'nat') network.forward = { '@_mode': 'nat' };
    network.bridge = { '@_name': plan.bridge, '@_stp': 'on', '@_delay': '0' };
    network.ip = {
      '@_address': plan.hostAddress,
      '@_prefix': plan.subnet.prefix,
      dhcp: { range: { '@_start': plan.dhcpStart, '@_end': plan.dhcpEnd } },
    };
  }
  return builder.build({ network }) as string;
}
