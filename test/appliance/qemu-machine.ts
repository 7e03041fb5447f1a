// One QEMU virtual machine for the appliance tests and benchmark: argv built here, serial console
// captured to a log file (and searchable while it runs), ACPI power-down over QMP, cleanup on stop.
// The network is QEMU user-mode with restrict=on: the guest reaches only the forwarded ports, and
// the host's loopback services a test hands it (guestfwd: one relay process per connection).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { connect } from 'node:net';

export interface MachineDisk {
  file: string;
  format: 'raw' | 'qcow2';
  /** Virtio serial: the guest sees /dev/disk/by-id/virtio-<serial>. */
  serial: string;
}

export interface MachineOptions {
  name: string;
  memoryMib: number;
  cpus?: number;
  /** Boot this ISO as a CD-ROM (through its GRUB unless `kernel` is given). */
  iso?: string;
  /** Direct kernel boot (the ISO stays attached for the squashfs layers). */
  kernel?: string;
  initrd?: string;
  append?: string;
  disks: MachineDisk[];
  /** host 127.0.0.1 port → guest port */
  forwards: Array<{ host: number; guest: number }>;
  /** guest "10.0.2.x:port" → host 127.0.0.1 port (a loopback service the guest may use) */
  guestForwards?: Array<{ guest: string; host: number }>;
  serialLog: string;
  /** A second serial port (the guest's ttyS1) written to this file, for what a test routes there. */
  ttyS1Log?: string;
  qmpSocket: string;
  /**
   * Private links between machines: an e1000 NIC on a QEMU socket netdev. listen/connect joins two
   * machines on 127.0.0.1; mcast joins any number on one segment (a UDP multicast group on the
   * loopback interface only, so no frame leaves this machine).
   */
  links?: Array<{ listen?: number; connect?: number; mcast?: number; mac: string }>;
}

/**
 * KVM when the CPU has vmx/svm and /dev/kvm is usable, else TCG. A smaller translation cache
 * (`tcg,tb-size=256`) cut the 45–55 s each boot spends invalidating the initramfs's stale
 * translations (live boot to host online 137–142 s → 92 s), but in one CI simulation an installed
 * boot under it then spun both vCPUs for 8 min without serving HTTPS: QEMU's default until that
 * is understood.
 */
export function accelArgs(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const hasVirt = /\b(vmx|svm)\b/.test(cpuinfo);
  return hasVirt && existsSync('/dev/kvm') ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}

export function machineArgs(o: MachineOptions): string[] {
  const args = [
    ...accelArgs(),
    '-machine',
    'q35',
    '-name',
    `${o.name},debug-threads=on`, // vCPU threads named "CPU n/TCG" in cpuReport()
    '-m',
    String(o.memoryMib),
    '-smp',
    String(o.cpus ?? 2),
  ];
  args.push('-nographic', '-serial', 'stdio', '-monitor', 'none', '-qmp', `unix:${o.qmpSocket},server=on,wait=off`);
  if (o.ttyS1Log) args.push('-serial', `file:${o.ttyS1Log}`);
  if (o.iso) args.push('-drive', `file=${o.iso},media=cdrom,readonly=on,if=ide,index=0`);
  if (o.kernel) {
    args.push('-kernel', o.kernel, '-initrd', o.initrd ?? '', '-append', o.append ?? '');
  } else {
    args.push('-boot', o.iso ? 'd' : 'c');
  }
  o.disks.forEach((d, i) => {
    args.push('-drive', `file=${d.file},format=${d.format},if=none,id=disk${i},cache=unsafe`);
    args.push('-device', `virtio-blk-pci,drive=disk${i},serial=${d.serial}`);
  });
  const fwd = o.forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
  // restrict=on leaves explicit forwards working; each guest connection runs this relay (no commas:
  // QEMU's option syntax would need them doubled).
  const relay = (port: number) =>
    `${process.execPath} -e 'const s=require("net").connect(${port});process.stdin.pipe(s).pipe(process.stdout)'`;
  const gfwd = (o.guestForwards ?? []).map((f) => `,guestfwd=tcp:${f.guest}-cmd:${relay(f.host)}`).join('');
  args.push('-netdev', `user,id=net0,restrict=on${fwd}${gfwd}`, '-device', 'virtio-net-pci,netdev=net0');
  (o.links ?? []).forEach((l, i) => {
    const end = l.listen
      ? `listen=127.0.0.1:${l.listen}`
      : l.connect
        ? `connect=127.0.0.1:${l.connect}`
        : `mcast=230.0.0.1:${l.mcast},localaddr=127.0.0.1`;
    args.push('-netdev', `socket,id=link${i},${end}`, '-device', `e1000,netdev=link${i},mac=${l.mac}`);
  });
  return args;
}

/**
 * Serial lines that mark where a boot is, even on an installed appliance (quiet, loglevel=3, its
 * systemd on tty0): the firmware (power-on or reset), the slot GRUB's menu boots, the status
 * screen's banner (the system is up, with its version), the kernel's last word.
 */
const MILESTONE =
  /SeaBIOS \(version|Quantix-vDC \(slot [ab]\)|Quantix-vDC \d[\w.+~-]*|reboot: (?:Restarting system|Power down)/;

export class QemuMachine {
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private output = '';
  /** The serial output not yet split into lines (for the milestones). */
  private partial = '';
  private readonly milestones: Array<{ at: number; what: string }> = [];
  private readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();

  constructor(readonly options: MachineOptions) {
    this.log = createWriteStream(options.serialLog);
    this.child = spawn('qemu-system-x86_64', machineArgs(options), { stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      this.log.write(b);
      const text = b.toString('utf8');
      this.output += text;
      if (this.output.length > 4_000_000) this.output = this.output.slice(-2_000_000);
      this.noteMilestones(text);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** CPU seconds (user + system) QEMU has used so far: the guest's work and its emulation. */
  get cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Serial output so far. */
  get serial(): string {
    return this.output;
  }

  /**
   * When each boot reached its milestones (firmware, GRUB's slot, the version banner, the kernel's
   * reboot), in seconds since
   * `since` (ms, default QEMU's start): where a reboot that never came back stopped.
   */
  bootTimeline(since = this.startedAt): string {
    const seen = this.milestones.filter((m) => m.at >= since);
    if (!seen.length) return `${this.options.name}: no boot milestone on the serial console`;
    return `${this.options.name} boots: ${seen.map((m) => `+${Math.round((m.at - since) / 1000)} s ${m.what}`).join('; ')}`;
  }

  private noteMilestones(chunk: string): void {
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-4096);
    for (const line of lines) {
      const m = line.match(MILESTONE);
      // Menus and the status screen redraw: a milestone counts when it differs from the one before.
      if (m && m[0] !== this.milestones.at(-1)?.what) this.milestones.push({ at: Date.now(), what: m[0] });
    }
  }

  /** Types `text` on the serial console (ttyS0), as a person at that console would. */
  typeSerial(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Resolves with the first match of `pattern` on the serial console; rejects on timeout or exit. */
  async waitForSerial(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.output.slice(from).match(pattern);
      if (m) return m;
      if (!this.running) throw new Error(`${this.options.name}: QEMU exited while waiting for ${pattern}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${this.options.name}: no ${pattern} on the serial console within ${timeoutMs / 1000} s`);
  }

  /** Resolves with QEMU's exit code, or rejects after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.options.name}: still running after ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** ACPI power button (a clean shutdown by systemd). */
  async powerdown(): Promise<void> {
    await qmp(this.options.qmpSocket, 'system_powerdown');
  }

  /** Freezes the guest (QMP stop): it stops answering on its links until resume(). */
  async pause(): Promise<void> {
    await qmp(this.options.qmpSocket, 'stop');
  }

  async resume(): Promise<void> {
    await qmp(this.options.qmpSocket, 'cont');
  }

  /**
   * What the vCPUs are doing, for a failure report when the guest went silent: each QEMU thread's CPU
   * share over 2 s, and each vCPU's mode, RIP and next instructions, sampled twice (a vCPU that spins
   * shows the same few instructions; one in the kernel runs with CS 0010).
   */
  async cpuReport(): Promise<string> {
    if (!this.running || this.child.pid === undefined) return `${this.options.name}: QEMU is not running`;
    const pid = this.child.pid;
    const out: string[] = [];
    try {
      const cpus = (await qmp(this.options.qmpSocket, 'query-cpus-fast')) as Array<{ 'cpu-index': number }>;
      const sample = async (label: string) => {
        for (const { 'cpu-index': cpu } of cpus) {
          const hmp = (line: string) =>
            qmp(this.options.qmpSocket, 'human-monitor-command', { 'command-line': line, 'cpu-index': cpu });
          const regs = String(await hmp('info registers'));
          const pick = (re: RegExp) => regs.match(re)?.[0] ?? '';
          const code = String(await hmp('x/4i $pc'))
            .trim()
            .replaceAll('\r', '')
            .split('\n');
          out.push(`${label} vCPU ${cpu}: ${pick(/RIP=\S+/)} ${pick(/CS =\S+/)} ${pick(/HLT=\d/)}`);
          out.push(...code.map((l) => `    ${l}`));
        }
      };
      const before = threadTicks(pid);
      await sample('t0');
      await new Promise((r) => setTimeout(r, 2000));
      await sample('t2');
      const after = threadTicks(pid);
      const shares = [...after]
        .map(([thread, t]) => [thread, t - (before.get(thread) ?? t)] as const)
        .filter(([, d]) => d > 0)
        .map(([thread, d]) => `${thread} ${Math.round(d / 2)}%`);
      out.unshift(`${this.options.name} QEMU threads busy over ~2 s: ${shares.join(', ') || 'none'}`);
    } catch (err) {
      out.push(`${this.options.name}: CPU report failed: ${(err as Error).message}`);
    }
    return out.join('\n');
  }

  /** Stops QEMU (SIGKILL if it does not go) and closes the serial log. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      await this.waitForExit(10_000).catch(async () => {
        this.child.kill('SIGKILL');
        await this.exited;
      });
    }
    await new Promise<void>((r) => this.log.end(r));
  }
}

/** Sends one QMP command after the capabilities handshake; resolves with its `return`. */
async function qmp(socketPath: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let sent = false;
    sock.setTimeout(10_000, () => sock.destroy(new Error(`QMP ${command}: timeout`)));
    sock.on('error', reject);
    sock.on('data', (b) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        if (msg.QMP) sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        else if (msg.error) sock.destroy(new Error(`QMP ${command}: ${msg.error.desc}`));
        else if (msg.return !== undefined && !sent) {
          sent = true;
          sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) }) + '\n');
        } else if (msg.return !== undefined) {
          sock.end();
          resolve(msg.return);
        }
      }
    });
  });
}

/** CPU ticks (user + system) of each thread of `pid`, by thread name and id. */
function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(`${name} ${tid}`, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ticks;
}
