// Which libvirt domains use which disk files: every domain's XML (`virsh list --all`,
// `virsh dumpxml`), disks with a file/block source or a pool/volume source. Lets the storage
// code refuse to delete or resize what a defined VM uses.
import { AgentError, ErrorCode } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { DOMAIN_NOT_FOUND } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { readDomainXml } from '../libvirt/xml/domain-parse.js';

export interface DiskSource {
  file?: string;
  pool?: string;
  volume?: string;
}

export interface DiskUse extends DiskSource {
  domain: string;
  running: boolean;
}

/** The disk sources of a domain XML (pure). */
export function parseDomainDisks(xml: string): DiskSource[] {
  const out: DiskSource[] = [];
  for (const { source } of readDomainXml(xml).disks) {
    const file = source.file ?? source.dev;
    if (file) out.push({ file });
    else if (source.pool && source.volume) out.push({ pool: source.pool, volume: source.volume });
  }
  return out;
}

async function names(virsh: Virsh, all: boolean): Promise<string[]> {
  const out = await virsh.exec(['list', all ? '--all' : '--state-running', '--name']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * Every disk of every domain (defined or running). Domains that vanish meanwhile are skipped;
 * any other failure to read a domain fails the whole answer, since callers decide from it
 * what is unused and may be deleted.
 */
export async function listDiskUses(virsh: Virsh): Promise<DiskUse[]> {
  const [all, running] = await Promise.all([names(virsh, true), names(virsh, false)]);
  const runningSet = new Set(running);
  const perDomain = await Promise.all(
    all.map(async (domain) => {
      try {
        const xml = await virsh.exec(['dumpxml', '--domain', domain]);
        return parseDomainDisks(xml).map((d) => ({ ...d, domain, running: runningSet.has(domain) }));
      } catch (err) {
        if (err instanceof ExecError && DOMAIN_NOT_FOUND.test(err.stderr)) return []; // undefined meanwhile
        throw new AgentError(
          ErrorCode.Unavailable,
          `cannot tell which disks VM ${domain} uses: ${Virsh.message(err)}`,
          undefined,
          { cause: err },
        );
      }
    }),
  );
  return perDomain.flat();
}
