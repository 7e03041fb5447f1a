// Host networks (libvirt NAT/isolated, bridged over a NIC) and the host's interfaces.
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { objectName } from './common.js';
import { NETWORK_KINDS } from './enums.js';

const spec = {
  name: objectName(),
  kind: oneOf(NETWORK_KINDS),
  subnet: opt(str({ maxLength: 43, description: 'NAT/isolated: IPv4 CIDR, e.g. 10.77.0.0/24' })),
  dhcpStart: opt(str({ maxLength: 45 })),
  dhcpEnd: opt(str({ maxLength: 45 })),
  bridge: opt(str({ maxLength: 15 })),
  uplink: opt(str({ maxLength: 15, description: 'bridged: the host NIC' })),
  vlanId: opt(int({ min: 1, max: 4094 })),
  confirmManagementMove: opt(bool()),
};
export const CreateNetworkDto = named('CreateNetworkDto', obj(spec));
export type CreateNetworkDto = Infer<typeof CreateNetworkDto>;

export const NetworkDto = named(
  'NetworkDto',
  obj({
    hostId: str(),
    name: str(),
    kind: oneOf([...NETWORK_KINDS, 'unknown'] as const),
    subnet: str(),
    dhcpStart: str(),
    dhcpEnd: str(),
    bridge: str(),
    uplink: str(),
    vlanId: int(),
    active: bool(),
    leases: arr(obj({ mac: str(), ip: str(), hostname: str(), expiryMs: int() })),
    usedBy: arr(str()),
    error: str(),
  }),
);
export type NetworkDto = Infer<typeof NetworkDto>;

export const HostInterfaceDto = named(
  'HostInterfaceDto',
  obj({ name: str(), mac: str(), addresses: arr(str()), up: bool(), kind: str(), management: bool() }),
);
export type HostInterfaceDto = Infer<typeof HostInterfaceDto>;

const base = '/api/v1/hosts/:hostId';
export const networkOperations = [
  {
    id: 'listNetworks',
    method: 'GET',
    path: `${base}/networks`,
    tag: 'networks',
    role: 'viewer',
    status: 200,
    response: arr(NetworkDto),
    summary: 'Networks of a host',
  },
  {
    id: 'createNetwork',
    method: 'POST',
    path: `${base}/networks`,
    tag: 'networks',
    role: 'admin',
    body: CreateNetworkDto,
    status: 201,
    response: NetworkDto,
    summary: 'Create a network',
  },
  {
    id: 'getNetwork',
    method: 'GET',
    path: `${base}/networks/:name`,
    tag: 'networks',
    role: 'viewer',
    status: 200,
    response: NetworkDto,
    summary: 'One network',
  },
  {
    id: 'deleteNetwork',
    method: 'DELETE',
    path: `${base}/networks/:name`,
    tag: 'networks',
    role: 'admin',
    status: 204,
    summary: 'Delete a network (409 while VMs use it)',
  },
  {
    id: 'listHostInterfaces',
    method: 'GET',
    path: `${base}/interfaces`,
    tag: 'networks',
    role: 'viewer',
    status: 200,
    response: arr(HostInterfaceDto),
    summary: 'NICs and bridges of a host',
  },
] as const satisfies readonly Operation[];
