// Test support: writes bytes into a running test guest's block device through its qemu-ga
// (guest-file-open/seek/write, then guest-exec sync), so tests know exactly what the guest's disk
// holds at a point in time; and runs a command in it (guest-exec). Pieces stay under the kernel's 128 KiB limit for one argv string.
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
  await guestExec(virsh, uuid, 'sync');
}

/** Runs `path args…` in the guest and waits for it to end; its exit code and output (stderr after stdout). */
export async function guestExec(
  virsh: Virsh,
  uuid: string,
  path: string,
  args: readonly string[] = [],
): Promise<{ exitCode: number; output: string }> {
  const exec = { execute: 'guest-exec', arguments: { path, arg: args, 'capture-output': true } };
  const { pid } = await agentCommand(virsh, uuid, exec);
  for (;;) {
    const s = await agentCommand(virsh, uuid, { execute: 'guest-exec-status', arguments: { pid } });
    if (s.exited === true) {
      const text = (k: string) => Buffer.from(typeof s[k] === 'string' ? s[k] : '', 'base64').toString();
      return {
        exitCode: typeof s.exitcode === 'number' ? s.exitcode : -1,
        output: text('out-data') + text('err-data'),
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
