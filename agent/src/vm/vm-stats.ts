// Per-VM statistics from `virsh domstats`: CPU % from the delta of cpu.time between two samples
// (the previous sample is kept per VM), memory from the balloon, disk and network byte counters.
import type { VmStats } from '@quantix/proto/v1/vm.js';
import { domainCall } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';

const ARGS = ['domstats', '--state', '--cpu-total', '--balloon', '--interface', '--block', '--vcpu'];

interface Sample {
  at: number;
  cpuNs: number;
}

/** Parses `virsh domstats` output into one record of raw counters per domain. */
export function parseDomstats(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const head = /^Domain: '(.*)'$/.exec(line.trim());
    if (head) {
      current = {};
      out.set(head[1]!, current);
    } else if (current && line.includes('=')) {
      const at = line.indexOf('=');
      current[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return out;
}

function sum(r: Record<string, string>, prefix: string, suffix: string): number {
  let total = 0;
  for (const [k, v] of Object.entries(r)) if (k.startsWith(prefix) && k.endsWith(suffix)) total += Number(v) || 0;
  return total;
}

/** Keeps the last CPU sample per VM so each call reports CPU % since the previous one. */
export class VmStatsSampler {
  private last = new Map<string, Sample>();

  constructor(private readonly virsh: Virsh) {}

  private toStats(name: string, uuid: string, r: Record<string, string>, now: number): VmStats {
    const cpuNs = Number(r['cpu.time'] ?? 0);
    const vcpus = Number(r['vcpu.current'] ?? 1) || 1;
    const prev = this.last.get(uuid);
    this.last.set(uuid, { at: now, cpuNs });
    const cpuPercent =
      prev && now > prev.at && cpuNs >= prev.cpuNs ? (100 * (cpuNs - prev.cpuNs)) / ((now - prev.at) * 1e6 * vcpus) : 0;
    const memory = Number(r['balloon.current'] ?? r['balloon.maximum'] ?? 0) * 1024;
    const unused = Number(r['balloon.unused'] ?? NaN) * 1024;
    const rss = Number(r['balloon.rss'] ?? 0) * 1024;
    return {
      uuid,
      name,
      cpuPercent: Math.round(Math.min(100, cpuPercent) * 10) / 10,
      memoryBytes: memory,
      memoryUsedBytes: Number.isFinite(unused) ? Math.max(0, memory - unused) : Math.min(memory, rss),
      diskReadBytes: sum(r, 'block.', '.rd.bytes'),
      diskWriteBytes: sum(r, 'block.', '.wr.bytes'),
      netRxBytes: sum(r, 'net.', '.rx.bytes'),
      netTxBytes: sum(r, 'net.', '.tx.bytes'),
      timestampMs: now,
    };
  }

  /** Stats of one VM; the first call for a VM samples twice, 300 ms apart, to get a CPU figure. */
  async one(id: string, name: string, uuid: string): Promise<VmStats> {
    if (!this.last.has(uuid)) {
      const first = parseDomstats(await domainCall(this.virsh, id, [...ARGS, uuid])).get(name);
      if (first) this.toStats(name, uuid, first, Date.now());
      await new Promise((r) => setTimeout(r, 300));
    }
    const r = parseDomstats(await domainCall(this.virsh, id, [...ARGS, uuid])).get(name) ?? {};
    return this.toStats(name, uuid, r, Date.now());
  }

  /** Stats of every running VM (for the Watch metrics batch): two virsh calls in all. */
  async running(): Promise<VmStats[]> {
    const uuids = new Map<string, string>();
    for (const line of (await this.virsh.exec(['list', '--uuid', '--name'])).split('\n')) {
      const [uuid, ...name] = line.trim().split(' ');
      if (uuid && name.length) uuids.set(name.join(' '), uuid);
    }
    if (uuids.size === 0) return [];
    const text = await this.virsh.exec([...ARGS, '--list-running']);
    const now = Date.now();
    const stats: VmStats[] = [];
    for (const [name, r] of parseDomstats(text)) {
      const uuid = uuids.get(name);
      if (uuid) stats.push(this.toStats(name, uuid, r, now));
    }
    return stats;
  }
}
