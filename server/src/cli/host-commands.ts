// `qx host list`.
import type { HostDto } from '../dto/hosts.js';
import type { ApiConnection } from './api-connection.js';
import { formatBytes, type Output } from './output.js';

export const HOST_USAGE = '  qx host list';

export async function hostCommand(api: ApiConnection, argv: string[], out: Output): Promise<void> {
  if (argv.length !== 1 || argv[0] !== 'list') throw new Error(`usage:\n${HOST_USAGE}`);
  const hosts = await api.json<HostDto[]>('GET', '/api/v1/hosts');
  out.result(hosts, () =>
    out.table(
      ['NAME', 'STATUS', 'ADDRESS', 'CPUS', 'MEMORY', 'VMS', 'ID'],
      hosts.map((h) => [
        h.name,
        h.maintenance ? `${h.status} (maintenance)` : h.status,
        h.local ? `${h.address} (this appliance)` : h.address,
        String(h.cpuCount),
        formatBytes(h.memoryTotalBytes),
        String(h.vmCount),
        h.id,
      ]),
    ),
  );
}
