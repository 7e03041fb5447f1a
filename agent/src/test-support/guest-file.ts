// Test support: writes bytes into a running test guest's block device through its qemu-ga
// (guest-file-open/seek/write, then guest-exec sync), so tests know exactly what the guest's disk
// holds at a point in time; and runs a command in it (guest-exec). Pieces stay under the kernel's
// 128 KiB limit for one argv string.
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

/**
 * Gives the running test guest a filesystem its agent freezes: ext2 on a loop device, mounted at
 * /mnt/qx (its own are tmpfs and the initramfs, which qemu-ga does not freeze: a freeze of the
 * bare guest freezes nothing, and a backup or snapshot of it is only crash-consistent).
 */
export async function mountFreezableFs(virsh: Virsh, uuid: string): Promise<void> {
  const r = await guestExec(virsh, uuid, '/bin/sh', [
    '-c',
    'for m in crc16 mbcache jbd2 crc32c_generic ext4 loop; do insmod /lib/modules/$m.ko || exit 1; done; ' +
      'dd if=/dev/zero of=/run/qx-fs.img bs=1M count=4 2>/dev/null && d=$(losetup -f) && losetup $d /run/qx-fs.img && ' +
      'mke2fs -q $d && mkdir -p /mnt/qx && mount $d /mnt/qx',
  ]);
  if (r.exitCode !== 0) throw new Error(`mounting a freezable filesystem in the guest failed: ${r.output}`);
}
