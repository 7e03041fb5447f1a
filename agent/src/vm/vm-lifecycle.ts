// Power operations on a VM with state checks that answer in plain sentences: start, ACPI
// shutdown with a timeout, force off, reboot, reset, pause, resume.
import type { Vm } from '@quantix/proto/v1/vm.js';
import { AgentError, ErrorCode, failedPrecondition } from '../errors.js';
import {
  DomainState,
  domainDestroy,
  domainDumpXml,
  domainReboot,
  domainReset,
  domainResume,
  domainShutdown,
  domainStart,
  domainState,
  domainSuspend,
} from '../libvirt/domain.js';
import { noteStateChange, readVm } from './vm-read.js';
import { guestAgentReady, guestAgentShutdown } from './guest-agent.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { Virsh } from '../libvirt/virsh.js';

const DEFAULT_SHUTDOWN_S = 60;

interface Target {
  uuid: string;
  name: string;
  state: DomainState;
}

async function target(virsh: Virsh, id: string): Promise<Target> {
  const { uuid, spec } = parseDomainXml(await domainDumpXml(virsh, id));
  return { uuid, name: spec.name, state: await domainState(virsh, uuid) };
}

const isOn = (s: DomainState) =>
  s === DomainState.Running || s === DomainState.Blocked || s === DomainState.Paused || s === DomainState.Shutdown;

function requireOn(t: Target): void {
  if (!isOn(t.state)) throw failedPrecondition(`VM ${t.name} is not running`);
}

async function after(virsh: Virsh, t: Target): Promise<Vm> {
  noteStateChange(t.uuid);
  return readVm(virsh, t.uuid);
}

export async function startVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  if (t.state === DomainState.Paused) throw failedPrecondition(`VM ${t.name} is paused: resume it instead`);
  if (isOn(t.state)) throw failedPrecondition(`VM ${t.name} is already running`);
  await domainStart(virsh, t.uuid);
  return after(virsh, t);
}

export async function forceOffVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  requireOn(t);
  await domainDestroy(virsh, t.uuid);
  return after(virsh, t);
}

/**
 * Asks the guest to power off — through its guest agent when that answers, by ACPI otherwise —
 * and waits up to `timeoutSeconds`. A guest that ignores
 * the request gives DEADLINE_EXCEEDED with a sentence saying so; the VM is left running.
 */
export async function shutdownVm(virsh: Virsh, id: string, timeoutSeconds = 0, signal?: AbortSignal): Promise<Vm> {
  const t = await target(virsh, id);
  requireOn(t);
  if (t.state === DomainState.Paused)
    throw failedPrecondition(`VM ${t.name} is paused: resume it before shutting it down`);
  const limit = (timeoutSeconds || DEFAULT_SHUTDOWN_S) * 1000;
  const viaAgent = await guestAgentReady(virsh, t.uuid);
  await (viaAgent ? guestAgentShutdown(virsh, t.uuid) : domainShutdown(virsh, t.uuid));
  const deadline = Date.now() + limit;
  while (Date.now() < deadline && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    if ((await domainState(virsh, t.uuid)) === DomainState.Shutoff) return after(virsh, t);
  }
  throw new AgentError(
    ErrorCode.DeadlineExceeded,
    `VM ${t.name} did not power off within ${Math.round(limit / 1000)} s of the shutdown request; ` +
      (viaAgent ? 'the guest agent accepted it but the guest kept running' : 'the guest may ignore ACPI') +
      ' — use force off',
  );
}

export async function rebootVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  requireOn(t);
  if (t.state === DomainState.Paused) throw failedPrecondition(`VM ${t.name} is paused: resume it before rebooting it`);
  await domainReboot(virsh, t.uuid);
  return after(virsh, t);
}

export async function resetVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  requireOn(t);
  await domainReset(virsh, t.uuid);
  return after(virsh, t);
}

export async function pauseVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  if (t.state === DomainState.Paused) throw failedPrecondition(`VM ${t.name} is already paused`);
  requireOn(t);
  await domainSuspend(virsh, t.uuid);
  return after(virsh, t);
}

export async function resumeVm(virsh: Virsh, id: string): Promise<Vm> {
  const t = await target(virsh, id);
  if (t.state !== DomainState.Paused) throw failedPrecondition(`VM ${t.name} is not paused`);
  await domainResume(virsh, t.uuid);
  return after(virsh, t);
}

/** Name, UUID and state of a VM (for callers that need a state check of their own). */
export const vmTarget = target;
