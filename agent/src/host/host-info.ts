// HostInfo from the OS and libvirt: identity, CPU, memory, versions, domain type, uptime, and the
// appliance system (what the vDC's UpdateSystem can do here: system-update.ts).
import { cpus, hostname, totalmem, uptime, release } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { ApplianceSystem, HostInfo } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { hostDomainType } from '../libvirt/domain-type.js';
import { localAddresses } from '../identity/agent-identity.js';
import { secureBootAvailable } from '../libvirt/ovmf.js';
import { hostCpu } from '../vm/cpu-host.js';
import { tpmAvailable } from '../vm/tpm.js';
import { BUILD_VERSION } from '@quantix/proto/appliance/build-version.js';
import { readApplianceSystem } from '@quantix/proto/appliance/appliance-system.js';
import { updateBlocker } from '@quantix/proto/appliance/slot-install.js';
import type { AgentConfig } from '../config.js';

export async function readHostInfo(ctx: AgentContext): Promise<HostInfo> {
  const [versions, mem, osRelease, cpu, appliance] = await Promise.all([
    libvirtVersions(ctx),
    memInfo(),
    prettyOsName(),
    // Unknown until libvirtd answers: no models, so placement does not pick this host for a named model.
    hostCpu(ctx.virsh, hostDomainType()).catch(() => ({ models: [], modes: [] })),
    applianceSystem(ctx.config),
  ]);
  return {
    hostId: ctx.identity.hostId,
    hostname: hostname(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryTotalBytes: mem.total,
    memoryFreeBytes: mem.available,
    libvirtVersion: versions.libvirt,
    qemuVersion: versions.qemu,
    domainType: hostDomainType(),
    uptimeSeconds: Math.round(uptime()),
    agentVersion: BUILD_VERSION, // the build's: the vDC grades it (server agent-version.ts)
    osRelease,
    kernel: release(),
    certificateFingerprint: ctx.identity.fingerprint,
    addresses: localAddresses().filter((a) => a !== '127.0.0.1'),
    cpuModels: cpu.models,
    cpuModes: cpu.modes,
    secureBoot: secureBootAvailable(),
    tpm: tpmAvailable(),
    appliance,
  };
}

// Versions only change when libvirt is upgraded, which restarts the agent: read them once. A
// busy libvirtd can take tens of seconds to answer `virsh version`, so the call is bounded and a
// failed read is retried on the next request instead of being remembered.
let versionsCache: Promise<{ libvirt: string; qemu: string }> | undefined;

function libvirtVersions(ctx: AgentContext): Promise<{ libvirt: string; qemu: string }> {
  versionsCache ??= ctx.virsh.exec(['version'], { timeoutMs: 10_000 }).then(
    (out) => ({
      libvirt: /Using library: libvirt ([\d.]+)/.exec(out)?.[1] ?? 'unknown',
      qemu: /Running hypervisor: QEMU ([\d.]+)/.exec(out)?.[1] ?? 'unknown',
    }),
    () => {
      versionsCache = undefined;
      return { libvirt: 'unavailable', qemu: 'unavailable' };
    },
  );
  return versionsCache;
}

/** Total and available memory from /proc/meminfo (MemAvailable, not MemFree). */
export async function memInfo(): Promise<{ total: number; available: number }> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: kib('MemTotal') || totalmem(), available: kib('MemAvailable') };
}

async function prettyOsName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

/** The appliance system this agent runs on, for HostInfo. */
export async function applianceSystem(config: AgentConfig): Promise<ApplianceSystem> {
  const s = await readApplianceSystem(config.applianceRoot, BUILD_VERSION);
  return {
    installed: s.installed,
    version: s.version,
    slot: s.slot ?? '',
    goodSlot: s.goodSlot ?? '',
    updateBlocker: updateBlocker(s) ?? '',
  };
}
