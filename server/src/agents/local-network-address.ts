// Where the other servers of an etcd control plane reach this appliance's own agent.
import { primaryManagementAddress, managementAddresses } from '../tls/management-addresses.js';
import { normaliseAddress } from './tls-probe.js';

/**
 * QX_LOCAL_AGENT_NETWORK_ADDRESS as recorded: host:port as given, ":port" on this machine's primary
 * management address other than loopback; undefined when unset or there is none.
 */
export function localNetworkAddress(
  setting: string | undefined,
  addresses = managementAddresses(),
): string | undefined {
  if (!setting) return undefined;
  if (!setting.startsWith(':')) return normaliseAddress(setting);
  const host = primaryManagementAddress(addresses);
  return host ? `${host}${setting}` : undefined;
}
