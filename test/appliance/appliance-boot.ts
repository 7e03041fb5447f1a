// Boots the appliance ISO in QEMU the way the tests and the benchmark need it: the kernel and initrd
// taken from the ISO (so the command line can carry test settings), disks by virtio serial,
// waiting until HTTPS answers. Also boots an installed disk through its own GRUB.
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../agent/src/exec/run.js';
import { QemuMachine } from './qemu-machine.js';
import type { MachineDisk, MachineOptions } from './qemu-machine.js';
import { probeFingerprint } from './appliance-client.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The ISO `make iso` built (QX_ISO overrides). */
export function applianceIso(): string {
  const iso = process.env.QX_ISO ?? join(repoRoot, 'build/out/quantix-vdc-0.1.0-amd64.iso');
  if (!existsSync(iso)) throw new Error(`appliance ISO missing at ${iso}: run \`make iso\``);
  return iso;
}

/** Copies /live/vmlinuz and /live/initrd.img out of an ISO (no iso9660 mount needed). */
export async function extractBootFiles(iso: string, dir: string): Promise<{ kernel: string; initrd: string }> {
  await mkdir(dir, { recursive: true });
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  await run(
    'xorriso',
    ['-osirrox', 'on', '-indev', iso, '-extract', '/live/vmlinuz', kernel, '-extract', '/live/initrd.img', initrd],
    {
      timeoutMs: 60_000,
    },
  );
  return { kernel, initrd };
}

/** A blank disk image (sparse raw file). */
export async function blankDisk(file: string, sizeGiB: number): Promise<MachineDisk & { file: string }> {
  await run('rm', ['-f', file]);
  await run('truncate', ['-s', `${sizeGiB}G`, file]);
  return { file, format: 'raw', serial: 'unset' };
}

export interface BootOptions {
  name: string;
  workDir: string;
  iso?: string;
  /** Extra kernel parameters (direct kernel boot from the ISO); absent = boot the first disk. */
  cmdline?: string;
  disks: MachineDisk[];
  httpsPort: number;
  /** Guest port behind httpsPort (443 unless told). */
  guestPort?: number;
  /** Loopback services of this machine the guest may reach (QemuMachine guestForwards). */
  guestForwards?: Array<{ guest: string; host: number }>;
  memoryMib?: number;
  /** vCPUs (2 unless told). */
  cpus?: number;
  /** Private links to other machines (QemuMachine links). */
  links?: MachineOptions['links'];
  /** Give the guest a ttyS1 written to <workDir>/<name>.ttyS1.log. */
  ttyS1?: boolean;
}

export function bootAppliance(o: BootOptions, boot?: { kernel: string; initrd: string }): QemuMachine {
  return new QemuMachine({
    name: o.name,
    memoryMib: o.memoryMib ?? 2048,
    cpus: o.cpus,
    iso: o.iso,
    kernel: boot?.kernel,
    initrd: boot?.initrd,
    append: boot ? `boot=live components console=ttyS0,115200n8 ${o.cmdline ?? ''}`.trim() : undefined,
    disks: o.disks,
    forwards: [{ host: o.httpsPort, guest: o.guestPort ?? 443 }],
    guestForwards: o.guestForwards,
    links: o.links,
    serialLog: join(o.workDir, `${o.name}.serial.log`),
    ttyS1Log: o.ttyS1 ? join(o.workDir, `${o.name}.ttyS1.log`) : undefined,
    qmpSocket: join(o.workDir, `${o.name}.qmp`),
  });
}

/** Polls until the appliance serves TLS on the forwarded port; returns its certificate fingerprint. */
export async function waitForHttps(vm: QemuMachine, port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!vm.running) throw new Error(`${vm.options.name}: QEMU exited before HTTPS answered`);
    const fp = await probeFingerprint(port);
    if (fp) return fp;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`${vm.options.name}: no HTTPS on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

/** Polls GET `path` on 127.0.0.1:port (TLS or plain) until any HTTP response; returns ms waited. */
export async function waitForHttpResponse(
  vm: QemuMachine,
  o: { port: number; tls: boolean; path: string; timeoutMs: number },
): Promise<number> {
  const { request: httpsRequest } = await import('node:https');
  const { request: httpRequest } = await import('node:http');
  const once = () =>
    new Promise<boolean>((resolve) => {
      const req = (o.tls ? httpsRequest : httpRequest)(
        { host: '127.0.0.1', port: o.port, path: o.path, timeout: 5000, rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve(true);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    if (!vm.running) throw new Error(`${vm.options.name}: QEMU exited before it answered HTTP`);
    if (await once()) return Date.now() - vm.startedAt;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${vm.options.name}: no HTTP answer on 127.0.0.1:${o.port} within ${o.timeoutMs / 1000} s`);
}
