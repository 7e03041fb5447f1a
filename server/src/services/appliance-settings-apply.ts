// The privileged half of the appliance settings: writes the OS files under a root directory
// (QX_APPLIANCE_ROOT: "/" on the appliance, a temp dir in tests) and, only when that root is "/",
// tells the running system (hostname(1), systemd-timesyncd restart). The server runs as root there.
import { execFile } from 'node:child_process';
import { mkdir, rm, symlink, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';

export const ZONEINFO = '/usr/share/zoneinfo';
const COMMAND_TIMEOUT_MS = 10_000;

export interface OsSettings {
  hostname: string;
  dnsServers: string[];
  ntpServers: string[];
  timeZone: string;
}

/** The files each setting becomes, relative to the root (exported for the tests and the docs). */
export const FILES = {
  hostname: 'etc/hostname',
  hosts: 'etc/hosts',
  resolv: 'etc/resolv.conf',
  timesyncd: 'etc/systemd/timesyncd.conf.d/quantix.conf',
  localtime: 'etc/localtime',
  timezone: 'etc/timezone',
} as const;

/** Writes every file for `s` under `root`; on "/" the live system is told too. */
export async function applyOsSettings(root: string, s: OsSettings): Promise<void> {
  const at = (f: string) => join(root, f);
  const short = s.hostname.split('.')[0]!;
  const names = short === s.hostname ? s.hostname : `${s.hostname} ${short}`;
  await write(at(FILES.hostname), `${s.hostname}\n`);
  await write(
    at(FILES.hosts),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${names}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  // Empty: resolv.conf stays as DHCP or the console's static network setting left it.
  if (s.dnsServers.length) {
    await write(
      at(FILES.resolv),
      `# Written by Quantix-vDC (appliance settings)\n${s.dnsServers.map((d) => `nameserver ${d}\n`).join('')}`,
    );
  }
  if (s.ntpServers.length) await write(at(FILES.timesyncd), `[Time]\nNTP=${s.ntpServers.join(' ')}\n`);
  else await rm(at(FILES.timesyncd), { force: true });
  // /etc/localtime is a symlink into the zoneinfo of the system itself (not under `root`).
  const link = at(FILES.localtime);
  await mkdir(dirname(link), { recursive: true });
  const tmp = `${link}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await symlink(join(ZONEINFO, s.timeZone), tmp);
  await rename(tmp, link);
  await write(at(FILES.timezone), `${s.timeZone}\n`);
  if (root === '/') await tellSystem(s);
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, text, 0o644);
}

/** The running system learns the new hostname and NTP servers; a failure is logged, the files stay. */
async function tellSystem(s: OsSettings): Promise<void> {
  const run = promisify(execFile);
  for (const argv of [
    ['hostname', s.hostname], // validated: never starts with '-'
    ['systemctl', 'try-restart', 'systemd-timesyncd.service'],
  ]) {
    try {
      await run(argv[0]!, argv.slice(1), { timeout: COMMAND_TIMEOUT_MS });
    } catch (err) {
      log.warn('appliance settings: command failed', { command: argv.join(' '), error: (err as Error).message });
    }
  }
}
