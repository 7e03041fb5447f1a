// A VM's graphical console: connects to the VNC Unix socket libvirt gave QEMU (read from the live
// domain XML, never from the caller) and relays raw RFB bytes to one viewer. Each caller gets its
// own connection; QEMU serves several shared viewers at once.
import { connect, type Socket } from 'node:net';
import type { Virsh } from '../libvirt/virsh.js';
import { domainDumpXml } from '../libvirt/domain.js';
import { parseDomainXml } from '../libvirt/xml/domain-parse.js';
import { failedPrecondition } from '../errors.js';
import type { Viewer } from './pty-session.js';
import type { ConsoleHandle } from './serial-console.js';

/** Connecting to QEMU's socket takes microseconds; a hung QEMU must not hold the call forever. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The live VNC socket of a running VM; FAILED_PRECONDITION when it has no graphical console. */
export async function graphicsSocketPath(virsh: Virsh, uuid: string, name: string): Promise<string> {
  const parsed = parseDomainXml(await domainDumpXml(virsh, uuid));
  if (!parsed.vncSocket) {
    throw failedPrecondition(
      parsed.spec.vnc
        ? `VM ${name} listens for VNC on TCP, not on a Unix socket: redefine it to open its graphical console`
        : `VM ${name} has no graphical console (no video device or VNC): only its serial console`,
    );
  }
  return parsed.vncSocket;
}

/** Connects `viewer` to the VNC socket at `path`; the handle writes client bytes and leaves. */
export function joinGraphics(path: string, name: string, viewer: Viewer): Promise<ConsoleHandle> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(path);
    let open = false;
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      open = true;
      resolve({
        write: (data) => void socket.write(data),
        resize: () => undefined,
        leave: async () => void socket.destroy(),
      });
    });
    socket.on('data', (chunk: Buffer) => viewer.data(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (!open) reject(failedPrecondition(`VM ${name}: cannot reach its VNC socket ${path}: ${err.message}`));
    });
    socket.on('close', () => {
      if (open) viewer.closed('the VM closed its graphical console');
    });
  });
}
