// The test guest as tests see it: where the images are and what it prints.
// Built by test/guest/build-guest.sh (`make guest`, a dependency of `make test`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const GUEST_DIR = process.env.QX_GUEST_DIR ?? join(root, 'build/cache/guest');

export const testGuest = {
  /** Hybrid ISO: boots as a CD-ROM or, written to a disk, as a hard disk (BIOS). */
  iso: join(GUEST_DIR, 'qx-test-guest.iso'),
  /** The same image as qcow2, for use as a VM disk. */
  qcow2: join(GUEST_DIR, 'qx-test-guest.qcow2'),
  kernel: join(GUEST_DIR, 'vmlinuz'),
  initrd: join(GUEST_DIR, 'initrd.img'),
  /** Printed on ttyS0 once the guest is up (8–10 s under TCG). */
  banner: 'QUANTIX-TEST-GUEST READY',
  /** Every input line comes back as `${echoPrefix}${line}`. */
  echoPrefix: 'qx-echo: ',
  /** A line `qx-run CMD` runs CMD in the guest and ends with `qx-run-done: <exit code>`. */
  runPrefix: 'qx-run ',
  runDone: 'qx-run-done: ',
  /** Printed by udhcpc when the guest got a DHCP lease: `qx-guest: eth0 has <ip>`. */
  leasePrefix: 'qx-guest: eth0 has ',
  /** The whole lease line: serial output arrives in pieces, so only the line end proves the address is complete. */
  leaseLine: /qx-guest: eth0 has (\d+\.\d+\.\d+\.\d+)\r?\n/,
  /** Memory the guest needs. */
  memoryMib: 128,
};

export function assertGuestBuilt(): void {
  if (!existsSync(testGuest.qcow2)) {
    throw new Error(`test guest missing at ${GUEST_DIR}: run \`make guest\``);
  }
}
