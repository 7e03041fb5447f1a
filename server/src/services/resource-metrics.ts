// Host and per-VM resource series for /metrics, from the latest 5 s sample of each online host
// (an offline host's figures are left out, so Prometheus marks them stale rather than frozen).
import type { HostConnection } from '../agents/host-connection.js';

type Kind = 'gauge' | 'counter';

interface Family {
  name: string;
  help: string;
  type: Kind;
  samples: string[];
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The exposition lines (HELP, TYPE, samples) of every host and VM resource family. */
export function renderResourceMetrics(hosts: readonly HostConnection[]): string[] {
  const fam = (name: string, type: Kind, help: string): Family => ({ name, type, help, samples: [] });
  const host = {
    cpu: fam('quantix_host_cpu_utilization_ratio', 'gauge', 'Host CPU busy share (0 to 1) over the last sample.'),
    memTotal: fam('quantix_host_memory_total_bytes', 'gauge', 'Host memory size.'),
    memUsed: fam('quantix_host_memory_used_bytes', 'gauge', 'Host memory in use.'),
    load1: fam('quantix_host_load1', 'gauge', 'Host 1-minute load average.'),
    rx: fam('quantix_host_network_receive_bytes_total', 'counter', 'Bytes received by the host interfaces.'),
    tx: fam('quantix_host_network_transmit_bytes_total', 'counter', 'Bytes sent by the host interfaces.'),
    read: fam('quantix_host_disk_read_bytes_total', 'counter', 'Bytes read from the host physical disks.'),
    written: fam('quantix_host_disk_written_bytes_total', 'counter', 'Bytes written to the host physical disks.'),
    reads: fam('quantix_host_disk_reads_completed_total', 'counter', 'Reads completed by the host physical disks.'),
    writes: fam('quantix_host_disk_writes_completed_total', 'counter', 'Writes completed by the host physical disks.'),
  };
  const vm = {
    cpu: fam('quantix_vm_cpu_utilization_ratio', 'gauge', 'VM CPU busy share (0 to 1) of its vCPUs.'),
    mem: fam('quantix_vm_memory_bytes', 'gauge', 'VM configured memory.'),
    memUsed: fam('quantix_vm_memory_used_bytes', 'gauge', 'VM memory in use as the guest reports it.'),
    read: fam('quantix_vm_disk_read_bytes_total', 'counter', 'Bytes read from the VM disks.'),
    written: fam('quantix_vm_disk_written_bytes_total', 'counter', 'Bytes written to the VM disks.'),
    rx: fam('quantix_vm_network_receive_bytes_total', 'counter', 'Bytes received by the VM interfaces.'),
    tx: fam('quantix_vm_network_transmit_bytes_total', 'counter', 'Bytes sent by the VM interfaces.'),
  };
  for (const c of hosts) {
    if (!c.online) continue;
    const h = `host="${esc(c.record.name)}",host_id="${esc(c.record.id)}"`;
    const m = c.metrics;
    if (m) {
      host.cpu.samples.push(`{${h}} ${m.cpuPercent / 100}`);
      host.memTotal.samples.push(`{${h}} ${m.memoryTotalBytes}`);
      host.memUsed.samples.push(`{${h}} ${m.memoryUsedBytes}`);
      host.load1.samples.push(`{${h}} ${m.load1}`);
      host.rx.samples.push(`{${h}} ${m.netRxBytes}`);
      host.tx.samples.push(`{${h}} ${m.netTxBytes}`);
      host.read.samples.push(`{${h}} ${m.diskReadBytes}`);
      host.written.samples.push(`{${h}} ${m.diskWriteBytes}`);
      host.reads.samples.push(`{${h}} ${m.diskReadOps}`);
      host.writes.samples.push(`{${h}} ${m.diskWriteOps}`);
    }
    for (const [uuid, v] of c.vms) {
      const st = c.vmStats.get(uuid);
      if (!st) continue;
      const l = `{${h},vm="${esc(v.spec?.name ?? '')}",vm_id="${esc(uuid)}"}`;
      vm.cpu.samples.push(`${l} ${st.cpuPercent / 100}`);
      vm.mem.samples.push(`${l} ${st.memoryBytes}`);
      vm.memUsed.samples.push(`${l} ${st.memoryUsedBytes}`);
      vm.read.samples.push(`${l} ${st.diskReadBytes}`);
      vm.written.samples.push(`${l} ${st.diskWriteBytes}`);
      vm.rx.samples.push(`${l} ${st.netRxBytes}`);
      vm.tx.samples.push(`${l} ${st.netTxBytes}`);
    }
  }
  return [...Object.values(host), ...Object.values(vm)].flatMap((f) => [
    `# HELP ${f.name} ${f.help}`,
    `# TYPE ${f.name} ${f.type}`,
    ...f.samples.map((s) => `${f.name}${s}`),
  ]);
}
