// The QEMU guest agent (qemu-ga) of a running VM through libvirt: whether it answers, graceful
// shutdown through it (freeze/thaw: guest-freeze.ts). Every call is bounded:
// a guest agent that hangs must never hang the operation around it.
import { domainCall, domainDumpXml } from '../libvirt/domain.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import type { Virsh } from '../libvirt/virsh.js';

/** How long libvirt waits for the guest agent to answer one command. */
const AGENT_TIMEOUT_S = 5;

/**
 * Whether qemu-ga answers now: the channel's "connected" state only says the guest opened the port,
 * so a ping confirms it before an operation relies on it.
 */
export async function guestAgentPing(virsh: Virsh, uuid: string): Promise<boolean> {
  try {
    await virsh.exec(['qemu-agent-command', '--timeout', String(AGENT_TIMEOUT_S), uuid, '{"execute":"guest-ping"}'], {
      timeoutMs: (AGENT_TIMEOUT_S + 5) * 1000,
    });
    return true;
  } catch {
    return false;
  }
}

/** Asks the guest agent to power the guest off (the guest's own shutdown, no ACPI needed). */
export const guestAgentShutdown = (virsh: Virsh, uuid: string) =>
  domainCall(virsh, uuid, ['shutdown', '--mode', 'agent', uuid]);

/** Whether VM `uuid` has its guest agent channel open and the agent answers a ping. */
export async function guestAgentReady(virsh: Virsh, uuid: string): Promise<boolean> {
  const { guestAgentConnected } = parseDomainXml(await domainDumpXml(virsh, uuid));
  return guestAgentConnected && (await guestAgentPing(virsh, uuid));
}
