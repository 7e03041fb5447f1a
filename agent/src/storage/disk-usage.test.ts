// listDiskUses decides what counts as unused (and may be deleted or resized): a domain that
// vanished between `list` and `dumpxml` is skipped, any other failure fails the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentError } from '../errors.js';
import { ExecError } from '../exec/run.js';
import type { Virsh } from '../libvirt/virsh.js';
import { listDiskUses } from './disk-usage.js';

const XML = `<domain><name>a</name><devices><disk type='file'><source file='/p/a.qcow2'/></disk></devices></domain>`;

/** A Virsh that lists domains a and b and answers `dumpxml b` with `stderr` (captured virsh text). */
function virshWith(stderr: string): Virsh {
  return {
    exec: async (args: readonly string[]) => {
      if (args[0] === 'list') return args.includes('--all') ? 'a\nb\n' : 'a\n';
      if (args.at(-1) === 'b') throw new ExecError('virsh', args, 1, stderr, false);
      return XML;
    },
  } as unknown as Virsh;
}

test('listDiskUses skips a domain that is gone and fails on any other virsh error', async () => {
  const gone = "error: failed to get domain 'b'\nerror: Domain not found: no domain with matching name 'b'\n";
  assert.deepEqual(await listDiskUses(virshWith(gone)), [{ file: '/p/a.qcow2', domain: 'a', running: true }]);
  const busy =
    'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainGetXMLDesc)\n';
  await assert.rejects(
    listDiskUses(virshWith(busy)),
    (e: AgentError) => e.code === 'UNAVAILABLE' && /VM b/.test(e.message) && /state change lock/.test(e.message),
  );
});
