// Host networks and interfaces, routed through the host's agent.
import type { CreateNetworkDto, HostInterfaceDto, NetworkDto } from '../dto/networks.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { toHostInterfaceDto, toNetworkDto } from './dto-mapping.js';
import { networkKind } from './proto-enums.js';

/** A network request's fields with the optional ones filled in ('' / 0: the agent's default). */
export function networkFields(req: CreateNetworkDto) {
  return {
    name: req.name,
    kind: req.kind,
    subnet: req.subnet ?? '',
    dhcpStart: req.dhcpStart ?? '',
    dhcpEnd: req.dhcpEnd ?? '',
    bridge: req.bridge ?? '',
    uplink: req.uplink ?? '',
    vlanId: req.vlanId ?? 0,
  };
}

export class NetworkService {
  constructor(private readonly pool: AgentPool) {}

  async list(hostId: string): Promise<NetworkDto[]> {
    const a = this.pool.get(hostId).requireOnline();
    return (await a.listNetworks()).networks.map((n) => toNetworkDto(n, hostId));
  }

  async get(hostId: string, name: string): Promise<NetworkDto> {
    const a = this.pool.get(hostId).requireOnline();
    return toNetworkDto(await a.getNetwork(name), hostId);
  }

  async create(hostId: string, req: CreateNetworkDto): Promise<NetworkDto> {
    const a = this.pool.get(hostId).requireOnline();
    const n = await a.createNetwork({
      ...networkFields(req),
      kind: networkKind.num(req.kind),
      confirmManagementMove: req.confirmManagementMove ?? false,
    });
    return toNetworkDto(n, hostId);
  }

  async delete(hostId: string, name: string): Promise<void> {
    const a = this.pool.get(hostId).requireOnline();
    await a.deleteNetwork(name);
  }

  async interfaces(hostId: string): Promise<HostInterfaceDto[]> {
    const a = this.pool.get(hostId).requireOnline();
    return (await a.listHostInterfaces()).interfaces.map(toHostInterfaceDto);
  }
}
