// Start-up work needs libvirtd answering: on a slow host's first boot it may not yet, or may stall
// (seen on the appliance under TCG: a `net-start` timed out and the default network was never made).
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecError } from '../exec/run.js';
import type { Virsh } from './virsh.js';

/** Waits until libvirtd answers; false when it did not within `ms`. */
export async function libvirtUp(virsh: Virsh, ms: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await virsh.exec(['version'], { timeoutMs: Math.min(10_000, virsh.timeoutMs) });
      return true;
    } catch {
      if (Date.now() > deadline || signal?.aborted) return false;
      await sleep(1000, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** libvirtd not (or no longer) answering, as opposed to libvirt refusing what was asked. */
export function libvirtUnreachable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as Error).cause) {
    if (e instanceof ExecError && e.command === 'virsh') {
      return (
        e.timedOut ||
        /Failed to connect socket|Cannot recv data|Cannot write data|End of file while reading data|client socket is closed/i.test(
          e.stderr,
        )
      );
    }
  }
  return false;
}
