// Names the operator types resolved to the API's ids: a VM or a host by id or by name (a name
// shared by VMs on several hosts must be narrowed with --host).
import type { HostDto } from '../dto/hosts.js';
import type { VmDto } from '../dto/vms.js';
import type { ApiConnection } from './api-connection.js';

export async function findHost(api: ApiConnection, ref: string): Promise<HostDto> {
  const hosts = await api.json<HostDto[]>('GET', '/api/v1/hosts');
  const hit = hosts.find((h) => h.id === ref) ?? hosts.filter((h) => h.name === ref || h.hostname === ref)[0];
  if (!hit) throw new Error(`no host "${ref}" (qx host list shows them)`);
  return hit;
}

export async function findVm(api: ApiConnection, ref: string, hostRef?: string): Promise<VmDto> {
  const host = hostRef ? await findHost(api, hostRef) : undefined;
  const query = host ? `?hostId=${encodeURIComponent(host.id)}` : '';
  const vms = await api.json<VmDto[]>('GET', `/api/v1/vms${query}`);
  const byId = vms.find((v) => v.id === ref);
  if (byId) return byId;
  const named = vms.filter((v) => v.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new Error(
      `${named.length} VMs are named "${ref}" (on ${named.map((v) => v.hostName).join(', ')}): add --host`,
    );
  }
  throw new Error(`no VM "${ref}"${host ? ` on ${host.name}` : ''} (qx vm list shows them)`);
}
