// Runs one command in a booted appliance through its own host shell (the admin's websocket
// terminal), for diagnostics when a test fails: what libvirt and QEMU inside the appliance say.
import type { ApplianceClient } from './appliance-client.js';

/** Output of `command` (stdout and stderr, through a pty), or the error that prevented it. */
export async function runOnHost(
  api: ApplianceClient,
  hostId: string,
  command: string,
  timeoutMs = 30_000,
): Promise<string> {
  const { url } = await api.expect<{ url: string }>(201, 'POST', `/api/v1/hosts/${hostId}/shell-ticket`);
  const ws = api.openSocket(url);
  // The marker is split in the command line so the shell's echo of it does not end the read.
  const done = `qx-diag-done-${process.pid}`;
  let out = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`host shell: no end marker within ${timeoutMs / 1000} s; said: ${out.slice(-2000)}`)),
        timeoutMs,
      );
      ws.on('open', () => ws.send(Buffer.from(`stty -echo; ${command}; echo qx-diag-""done-${process.pid}\r`)));
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        out += (data as Buffer).toString('utf8');
        const at = out.indexOf(done);
        if (at >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, at));
        }
      });
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`host shell: ${e.message}; said: ${out.slice(-2000)}`, { cause: e }));
      });
    });
  } finally {
    ws.close();
  }
}
