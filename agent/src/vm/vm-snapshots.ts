// VM snapshots through libvirt (internal qcow2 snapshots, with memory when the VM runs):
// create, list, revert, delete. Snapshot names are validated like every other name.
import { xmlReader } from '../libvirt/xml/parser.js';
import type { Snapshot, Vm } from '@quantix/proto/v1/vm.js';
import { AgentError, ErrorCode, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { validateName } from '../validate/name.js';
import { validateXmlText } from '../validate/xml-text.js';
import { stateFromText } from '../libvirt/domain.js';
import { vmTarget } from './vm-lifecycle.js';
import { noteStateChange, readVm, vmState } from './vm-read.js';
import { Virsh } from '../libvirt/virsh.js';

const read = xmlReader([]);

async function snapshotCall(virsh: Virsh, vmName: string, snapshot: string, args: readonly string[]): Promise<string> {
  try {
    return await virsh.exec(args, { timeoutMs: 300_000 });
  } catch (err) {
    if (err instanceof ExecError && /Domain snapshot not found|no domain snapshot with matching/i.test(err.stderr)) {
      throw notFound(`snapshot ${snapshot} of VM ${vmName}`);
    }
    if (err instanceof ExecError && /already exists/i.test(err.stderr)) {
      throw new AgentError(ErrorCode.AlreadyExists, `VM ${vmName} already has a snapshot named ${snapshot}`, 'name');
    }
    throw new AgentError(ErrorCode.FailedPrecondition, `snapshot ${snapshot} of VM ${vmName}: ${Virsh.message(err)}`);
  }
}

async function readSnapshot(
  virsh: Virsh,
  uuid: string,
  vmName: string,
  name: string,
  current: string,
): Promise<Snapshot> {
  const xml = await snapshotCall(virsh, vmName, name, ['snapshot-dumpxml', uuid, name]);
  const s = read(xml).domainsnapshot ?? {};
  return {
    name,
    description: String(s.description ?? ''),
    createdMs: Number(s.creationTime ?? 0) * 1000,
    state: vmState(stateFromText(String(s.state ?? '').replace('shutoff', 'shut off'))),
    current: name === current,
    parent: String(s.parent?.name ?? ''),
  };
}

async function currentName(virsh: Virsh, uuid: string): Promise<string> {
  return (await virsh.exec(['snapshot-current', '--name', uuid]).catch(() => '')).trim();
}

export async function createSnapshot(virsh: Virsh, id: string, name: string, description: string): Promise<Snapshot> {
  validateName('name', name);
  validateXmlText('description', description, 1024);
  const t = await vmTarget(virsh, id);
  const args = ['snapshot-create-as', '--domain', t.uuid, '--name', name];
  if (description) args.push('--description', description);
  await snapshotCall(virsh, t.name, name, args);
  return readSnapshot(virsh, t.uuid, t.name, name, name);
}

export async function listSnapshots(virsh: Virsh, id: string): Promise<Snapshot[]> {
  const t = await vmTarget(virsh, id);
  const names = (await virsh.exec(['snapshot-list', '--name', '--topological', t.uuid]))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const current = await currentName(virsh, t.uuid);
  return Promise.all(names.map((n) => readSnapshot(virsh, t.uuid, t.name, n, current)));
}

export async function revertSnapshot(virsh: Virsh, id: string, name: string): Promise<Vm> {
  validateName('name', name);
  const t = await vmTarget(virsh, id);
  await snapshotCall(virsh, t.name, name, ['snapshot-revert', '--force', t.uuid, name]);
  noteStateChange(t.uuid);
  return readVm(virsh, t.uuid);
}

export async function deleteSnapshot(virsh: Virsh, id: string, name: string): Promise<void> {
  validateName('name', name);
  const t = await vmTarget(virsh, id);
  await snapshotCall(virsh, t.name, name, ['snapshot-delete', t.uuid, name]);
}
