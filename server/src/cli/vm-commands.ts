// `qx vm list|show|start|stop|console`.
import { parseArgs } from 'node:util';
import type { TaskDto } from '../dto/tasks.js';
import type { ConsoleTicketDto, VmDto } from '../dto/vms.js';
import type { ApiConnection } from './api-connection.js';
import { findHost, findVm } from './lookup.js';
import { formatBytes, type Output } from './output.js';
import { watchTask } from './task-watch.js';
import { attachConsole } from './console-client.js';

export const VM_USAGE = `  qx vm list [--host H]
  qx vm show VM [--host H]
  qx vm start VM [--host H] [--no-wait]
  qx vm stop VM [--host H] [--force] [--timeout SECONDS] [--no-wait]
                ACPI shutdown (waits up to --timeout, default 60 s); --force pulls the plug
  qx vm console VM [--host H]   the serial console; Ctrl-] detaches`;

export async function vmCommand(api: ApiConnection, argv: string[], out: Output): Promise<void> {
  const [verb, ...rest] = argv;
  const { positionals, values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      force: { type: 'boolean' },
      timeout: { type: 'string' },
      'no-wait': { type: 'boolean' },
    },
  });
  if (verb === 'list') {
    if (positionals.length) throw new Error(`qx vm list takes no VM name, got "${positionals.join(' ')}"`);
    const host = values.host ? await findHost(api, values.host) : undefined;
    const vms = await api.json<VmDto[]>('GET', `/api/v1/vms${host ? `?hostId=${encodeURIComponent(host.id)}` : ''}`);
    vms.sort((a, b) => a.name.localeCompare(b.name));
    return out.result(vms, () =>
      out.table(
        ['NAME', 'STATE', 'HOST', 'VCPU', 'MEMORY', 'ADDRESSES', 'ID'],
        vms.map((v) => [
          v.name,
          v.hostOnline ? v.state : `${v.state} (host offline)`,
          v.hostName,
          String(v.sockets * v.cores),
          formatBytes(v.memoryMib * 2 ** 20),
          v.ipAddresses.join(',') || '-',
          v.id,
        ]),
      ),
    );
  }
  if (positionals.length !== 1) throw new Error(`usage:\n${VM_USAGE}`);
  const vm = await findVm(api, positionals[0]!, values.host);
  const path = `/api/v1/vms/${encodeURIComponent(vm.id)}`;
  switch (verb) {
    case 'show':
      return out.result(vm, () => showVm(vm, out));
    case 'start':
      return runTask(api, await api.json<TaskDto>('POST', `${path}/start`), values['no-wait'], out);
    case 'stop': {
      const task = values.force
        ? await api.json<TaskDto>('POST', `${path}/force-off`)
        : await api.json<TaskDto>('POST', `${path}/shutdown`, { timeoutSeconds: timeoutSeconds(values.timeout) });
      return runTask(api, task, values['no-wait'], out);
    }
    case 'console': {
      const ticket = await api.json<ConsoleTicketDto & { url: string }>('POST', `${path}/console-ticket`);
      return attachConsole(api, ticket.url, out);
    }
    default:
      throw new Error(`unknown verb "qx vm ${verb ?? ''}"; usage:\n${VM_USAGE}`);
  }
}

function timeoutSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 3600) {
    throw new Error(`--timeout must be a number of seconds from 1 to 3600, got "${raw}"`);
  }
  return Number(raw);
}

async function runTask(api: ApiConnection, task: TaskDto, noWait: boolean | undefined, out: Output): Promise<void> {
  const done = noWait ? task : await watchTask(api, task.id, out);
  out.result(done, () => out.line(`${done.kind} ${done.target.name}: ${done.status} (task ${done.id})`));
}

function showVm(vm: VmDto, out: Output): void {
  const rows: [string, string][] = [
    ['Name', vm.name],
    ['ID', vm.id],
    ['State', vm.hostOnline ? vm.state : `${vm.state} (host offline: last known)`],
    ['Host', vm.hostName],
    ['CPU', `${vm.sockets} socket(s) × ${vm.cores} core(s)`],
    ['Memory', formatBytes(vm.memoryMib * 2 ** 20)],
    ['Firmware', `${vm.firmware}${vm.machine ? `, ${vm.machine}` : ''}`],
    ['Disks', vm.disks.map((d) => `${d.pool}/${d.volume} (${d.bus})`).join(', ') || '-'],
    ['NICs', vm.nics.map((n, i) => `${n.kind}:${n.source || '-'} ${vm.macs[i] ?? ''}`.trim()).join(', ') || '-'],
    ['Addresses', vm.ipAddresses.join(', ') || '-'],
    ['Tags', vm.tags.join(', ') || '-'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out.line(`${k.padEnd(w)}  ${v}`);
}
