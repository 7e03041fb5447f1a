// Search, state filter and sort of the VM list (pure; unit-tested without a browser).
import type { VmDto } from '@dto/vms.js';
import { vmCpuCount } from '../../api/vms.js';

export type SortKey = 'name' | 'state' | 'hostName' | 'cpus' | 'memoryMib';

/** Filters and sorts VMs for display (pure). */
export function selectVms(vms: VmDto[], query: string, state: string, sort: SortKey, desc: boolean): VmDto[] {
  const q = query.trim().toLowerCase();
  const out = vms.filter(
    (v) =>
      (!state || v.state === state) &&
      (!q || [v.name, v.hostName, ...v.ipAddresses].some((s) => s.toLowerCase().includes(q))),
  );
  out.sort((a, b) => {
    const x = sort === 'cpus' ? vmCpuCount(a) : a[sort];
    const y = sort === 'cpus' ? vmCpuCount(b) : b[sort];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
  return out;
}
