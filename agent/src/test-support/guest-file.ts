// Test support: writes bytes into a running test guest's block device through its qemu-ga
// (guest-file-open/seek/write, then guest-exec sync), so tests know exactly what the guest's disk
// holds at a point in time. Pieces stay under the kernel's 128 KiB limit for one argv string.
import type { Virsh } from '../libvirt/virsh.js';

const PIECE = 48 * 1024;

async function agentCommand(virsh: Virsh, uuid: string, command: object): Promise<Record<string, unknown>> {
  const out = await virsh.exec(['qemu-agent-command', '--timeout', '30', uuid, JSON.stringify(command)]);
  return (JSON.parse(out) as { return: Record<string, unknown> }).return;
}

/** Writes each `{offset, data}` into `device` of the guest, then syncs the guest's buffers. */
export async function guestWriteDevice(
  virsh: Virsh,
  uuid: string,
  device: string,
  writes: readonly { offset: number; data: Buffer }[],
): Promise<void> {
  const open = { execute: 'guest-file-open', arguments: { path: device, mode: 'r+' } };
  const handle = (await agentCommand(virsh, uuid, open)) as unknown as number;
  for (const { offset, data } of writes) {
    await agentCommand(virsh, uuid, { execute: 'guest-file-seek', arguments: { handle, offset, whence: 'set' } });
    for (let at = 0; at < data.length; at += PIECE) {
      const piece = data.subarray(at, at + PIECE).toString('base64');
      await agentCommand(virsh, uuid, { execute: 'guest-file-write', arguments: { handle, 'buf-b64': piece } });
    }
  }
  await agentCommand(virsh, uuid, { execute: 'guest-file-close', arguments: { handle } });
  const { pid } = await agentCommand(virsh, uuid, { execute: 'guest-exec', arguments: { path: 'sync' } });
  for (;;) {
    const s = await agentCommand(virsh, uuid, { execute: 'guest-exec-status', arguments: { pid } });
    if (s.exited === true) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
