// Host networks and interfaces, routed through the host's agent.
import type { CreateNetworkDto, HostInterfaceDto, NetworkDto } from '../dto/networks.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { toHostInterfaceDto, toNetworkDto } from './dto-mapping.js';
import { networkKind } from './proto-enums.js';

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
      name: req.name,
      kind: networkKind.num(req.kind),
      subnet: req.subnet ?? '',
      dhcpStart: req.dhcpStart ?? '',
      dhcpEnd: req.dhcpEnd ?? '',
      bridge: req.bridge ?? '',
      uplink: req.uplink ?? '',
      vlanId: req.vlanId ?? 0,
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
