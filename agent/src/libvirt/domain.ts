// libvirt domains through virsh: one function per virsh verb, addressed by UUID or a validated
// name. Unknown domains become NOT_FOUND; other failures keep libvirt's message.
import { AgentError, ErrorCode, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { Virsh } from './virsh.js';

/** libvirt's numeric domain states (virDomainState), as `virsh domstats --state` prints them. */
export const DomainState = {
  NoState: 0,
  Running: 1,
  Blocked: 2,
  Paused: 3,
  Shutdown: 4,
  Shutoff: 5,
  Crashed: 6,
  PmSuspended: 7,
} as const;
export type DomainState = (typeof DomainState)[keyof typeof DomainState];

/** virsh's stderr for a domain that does not exist. */
export const DOMAIN_NOT_FOUND = /Domain not found|failed to get domain|no domain with matching/i;

/** Runs a virsh call about domain `id`, turning "no such domain" into NOT_FOUND. */
export async function domainCall(virsh: Virsh, id: string, args: readonly string[], xml?: string): Promise<string> {
  try {
    // Generous: a busy host (or one whose /dev/kvm lost its group) makes define/start take a minute.
    const options = { timeoutMs: 300_000 };
    return await (xml === undefined
      ? virsh.exec(args, options)
      : virsh.execWithXml(xml, (file) => [...args, file], options));
  } catch (err) {
    if (err instanceof ExecError && DOMAIN_NOT_FOUND.test(err.stderr)) throw notFound(`VM ${id}`);
    throw new AgentError(ErrorCode.Internal, `VM ${id}: ${Virsh.message(err)}`, undefined, { cause: err });
  }
}

export const domainDumpXml = (virsh: Virsh, id: string, inactive = false) =>
  domainCall(virsh, id, ['dumpxml', ...(inactive ? ['--inactive'] : []), id]);

/** Defines (or redefines, same UUID) from XML. */
export const domainDefine = (virsh: Virsh, name: string, xml: string) => domainCall(virsh, name, ['define'], xml);

export const domainStart = (virsh: Virsh, id: string) => domainCall(virsh, id, ['start', id]);
export const domainShutdown = (virsh: Virsh, id: string) => domainCall(virsh, id, ['shutdown', id]);
export const domainDestroy = (virsh: Virsh, id: string) => domainCall(virsh, id, ['destroy', id]);
export const domainReboot = (virsh: Virsh, id: string) => domainCall(virsh, id, ['reboot', id]);
export const domainReset = (virsh: Virsh, id: string) => domainCall(virsh, id, ['reset', id]);
export const domainSuspend = (virsh: Virsh, id: string) => domainCall(virsh, id, ['suspend', id]);
export const domainResume = (virsh: Virsh, id: string) => domainCall(virsh, id, ['resume', id]);
export const domainRename = (virsh: Virsh, id: string, name: string) => domainCall(virsh, id, ['domrename', id, name]);

/** Removes the definition with its NVRAM file, TPM state (swtpm) and snapshot metadata. */
export const domainUndefine = (virsh: Virsh, id: string) =>
  domainCall(virsh, id, ['undefine', '--nvram', '--tpm', '--snapshots-metadata', '--checkpoints-metadata', id]);

export async function domainState(virsh: Virsh, id: string): Promise<DomainState> {
  const out = await domainCall(virsh, id, ['domstate', id]);
  return stateFromText(out.trim());
}

/** Maps `virsh domstate` words to libvirt's numeric state. */
export function stateFromText(word: string): DomainState {
  const map: Record<string, DomainState> = {
    running: DomainState.Running,
    idle: DomainState.Blocked,
    paused: DomainState.Paused,
    'in shutdown': DomainState.Shutdown,
    'shut off': DomainState.Shutoff,
    crashed: DomainState.Crashed,
    pmsuspended: DomainState.PmSuspended,
  };
  return map[word] ?? DomainState.NoState;
}

/** Names of every domain (defined and transient). */
export async function domainNames(virsh: Virsh): Promise<string[]> {
  const out = await virsh.exec(['list', '--all', '--name']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Where `virsh domifaddr` learns addresses: the guest agent (only when it runs), DHCP leases, ARP. */
export type AddressSource = 'agent' | 'lease' | 'arp';

/** Loopback and link-local addresses, which only the guest agent reports and nobody can reach. */
const UNREACHABLE = /^(127\.|::1$|fe80:)/i;

/** Guest addresses from the first of `sources` that knows any; [] when none does. */
export async function domainAddresses(
  virsh: Virsh,
  id: string,
  sources: readonly AddressSource[] = ['lease', 'arp'],
): Promise<string[]> {
  for (const source of sources) {
    try {
      const out = await virsh.exec(['domifaddr', id, '--source', source], { timeoutMs: 10_000 });
      const ips = [...out.matchAll(/\s(ipv[46])\s+([0-9a-f.:]+)\/\d+/gi)]
        .map((m) => m[2]!)
        .filter((ip) => !UNREACHABLE.test(ip));
      if (ips.length) return [...new Set(ips)];
    } catch {
      // no lease/ARP information for this domain: try the next source
    }
  }
  return [];
}
