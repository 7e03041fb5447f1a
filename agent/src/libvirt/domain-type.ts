// The one place that decides the libvirt domain type for new VMs: "kvm" when the CPU has
// hardware virtualization (vmx/svm) and /dev/kvm opens, else "qemu" (TCG). Nested PVM
// /dev/kvm devices without vmx/svm exist and crawl, so the flag check comes first.
import { readFileSync, openSync, closeSync, constants } from 'node:fs';

export type DomainType = 'kvm' | 'qemu';

export function chooseDomainType(
  cpuinfo: string = readFileSync('/proc/cpuinfo', 'utf8'),
  kvmOpens: () => boolean = canOpenKvm,
): DomainType {
  const flags = cpuinfo.split('\n').find((l) => l.startsWith('flags'));
  const hasVirt = flags !== undefined && /\b(vmx|svm)\b/.test(flags);
  return hasVirt && kvmOpens() ? 'kvm' : 'qemu';
}

function canOpenKvm(): boolean {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

let cached: DomainType | undefined;
/** The domain type of this host, computed once per process. */
export function hostDomainType(): DomainType {
  cached ??= chooseDomainType();
  return cached;
}
