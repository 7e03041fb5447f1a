// VM snapshots through libvirt (internal qcow2 snapshots, with memory when the VM runs):
// create, list, revert, delete. Snapshot names are validated like every other name. When the
// guest agent answers, the guest's filesystems are frozen while the snapshot is taken (quiesced).
import { xmlReader } from '../libvirt/xml/parser.js';
import type { Snapshot, Vm } from '@quantix/proto/v1/vm.js';
import { AgentError, ErrorCode, notFound } from '../errors.js';
import { ExecError } from '../exec/run.js';
import { validateName } from '../validate/name.js';
import { validateXmlText } from '../validate/xml-text.js';
import { DomainState, domainState, stateFromText } from '../libvirt/domain.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { guestAgentPing, guestAgentReady } from './guest-agent.js';
import { guestFsFreeze, guestFsThaw } from './guest-freeze.js';
import type { SnapshotNote, SnapshotNotes } from './snapshot-notes.js';
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
  note: SnapshotNote | undefined,
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
    quiesced: note?.quiesced ?? false,
  };
}

async function currentName(virsh: Virsh, uuid: string): Promise<string> {
  return (await virsh.exec(['snapshot-current', '--name', uuid]).catch(() => '')).trim();
}

const isRunning = (s: DomainState) => s === DomainState.Running || s === DomainState.Blocked;

/**
 * Takes a snapshot; of a running VM whose guest agent answers, with its filesystems frozen for the
 * moment it takes (thawed whatever happens). A thaw that fails is an error naming the VM.
 */
export async function createSnapshot(
  virsh: Virsh,
  notes: SnapshotNotes,
  id: string,
  name: string,
  description: string,
): Promise<Snapshot> {
  validateName('name', name);
  validateXmlText('description', description, 1024);
  const t = await vmTarget(virsh, id);
  const args = ['snapshot-create-as', '--domain', t.uuid, '--name', name];
  if (description) args.push('--description', description);
  // Quiesced when the agent froze at least one filesystem (none frozen: nothing to thaw).
  const quiesce =
    isRunning(t.state) && (await guestAgentReady(virsh, t.uuid)) && (await guestFsFreeze(virsh, t.uuid, t.name)) > 0;
  let thawError: Error | undefined;
  try {
    await snapshotCall(virsh, t.name, name, args);
  } finally {
    if (quiesce) thawError = await guestFsThaw(virsh, t.uuid);
  }
  if (quiesce) await notes.set(t.uuid, name, { quiesced: true });
  if (thawError) {
    throw new AgentError(
      ErrorCode.Internal,
      `snapshot ${name} of VM ${t.name} was taken, but thawing its filesystems failed: ${Virsh.message(thawError)}`,
    );
  }
  return readSnapshot(virsh, t.uuid, t.name, name, name, { quiesced: quiesce });
}

export async function listSnapshots(virsh: Virsh, notes: SnapshotNotes, id: string): Promise<Snapshot[]> {
  const t = await vmTarget(virsh, id);
  const names = (await virsh.exec(['snapshot-list', '--name', '--topological', t.uuid]))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const [current, byName] = await Promise.all([currentName(virsh, t.uuid), notes.read(t.uuid)]);
  return Promise.all(names.map((n) => readSnapshot(virsh, t.uuid, t.name, n, current, byName[n])));
}

/** How long a reverted guest's agent gets to come back before its filesystems are thawed. */
const THAW_AFTER_REVERT_MS = 30_000;

/**
 * Reverts to a snapshot. A quiesced snapshot of a running VM holds the guest's memory with its
 * filesystems frozen: once the guest agent answers again they are thawed, or the guest would hang.
 */
export async function revertSnapshot(virsh: Virsh, notes: SnapshotNotes, id: string, name: string): Promise<Vm> {
  validateName('name', name);
  const t = await vmTarget(virsh, id);
  await snapshotCall(virsh, t.name, name, ['snapshot-revert', '--force', t.uuid, name]);
  noteStateChange(t.uuid);
  if ((await notes.read(t.uuid))[name]?.quiesced && isRunning(await domainState(virsh, t.uuid))) {
    const deadline = Date.now() + THAW_AFTER_REVERT_MS;
    while (!(await guestAgentPing(virsh, t.uuid)) && Date.now() < deadline) await sleep(500);
    const thawError = await guestFsThaw(virsh, t.uuid);
    if (thawError) {
      throw new AgentError(
        ErrorCode.Internal,
        `VM ${t.name} was reverted to snapshot ${name}, but thawing its filesystems failed: ${Virsh.message(thawError)}`,
      );
    }
  }
  return readVm(virsh, t.uuid);
}

export async function deleteSnapshot(virsh: Virsh, notes: SnapshotNotes, id: string, name: string): Promise<void> {
  validateName('name', name);
  const t = await vmTarget(virsh, id);
  await snapshotCall(virsh, t.name, name, ['snapshot-delete', t.uuid, name]);
  await notes.set(t.uuid, name, undefined);
}
