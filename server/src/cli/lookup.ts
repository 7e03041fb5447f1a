// Names the operator types resolved to the API's ids: a VM or a host by id or by name (a name
// shared by VMs on several hosts must be narrowed with --host).
import type { HostDto } from '../dto/hosts.js';
import type { VmDto, VmPageDto } from '../dto/vms.js';
import { ApiError, type ApiConnection } from './api-connection.js';

export async function findHost(api: ApiConnection, ref: string): Promise<HostDto> {
  const hosts = await api.json<HostDto[]>('GET', '/api/v1/hosts');
  const hit = hosts.find((h) => h.id === ref) ?? hosts.filter((h) => h.name === ref || h.hostname === ref)[0];
  if (!hit) throw new Error(`no host "${ref}" (qx host list shows them)`);
  return hit;
}

export async function findVm(api: ApiConnection, ref: string, hostRef?: string): Promise<VmDto> {
  const host = hostRef ? await findHost(api, hostRef) : undefined;
  // The server filters by name (contains, any case): only candidates travel, not every VM.
  const vms: VmDto[] = [];
  let cursor = '';
  do {
    const q = new URLSearchParams({ name: ref, limit: '1000', ...(host ? { hostId: host.id } : {}) });
    if (cursor) q.set('cursor', cursor);
    const page = await api.json<VmPageDto>('GET', `/api/v1/vms/page?${q.toString()}`);
    vms.push(...page.items);
    cursor = page.nextCursor ?? '';
  } while (cursor);
  const named = vms.filter((v) => v.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new Error(
      `${named.length} VMs are named "${ref}" (on ${named.map((v) => v.hostName).join(', ')}): add --host`,
    );
  }
  const byId = UUID.test(ref) ? await vmById(api, ref) : undefined;
  if (byId && (!host || byId.hostId === host.id)) return byId;
  throw new Error(`no VM "${ref}"${host ? ` on ${host.name}` : ''} (qx vm list shows them)`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The VM with this id, or undefined when there is none (404). */
async function vmById(api: ApiConnection, id: string): Promise<VmDto | undefined> {
  try {
    return await api.json<VmDto>('GET', `/api/v1/vms/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
