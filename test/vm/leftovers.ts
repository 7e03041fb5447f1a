// "Nothing left behind" checks for VM and console tests: domains and pools with the qxt-vm-
// prefix, `virsh console` processes for given VMs, and temp entries with the prefix.
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { TEST_PREFIX } from './guest-pool.js';

const virsh = new Virsh('qemu:///system');

/** Names of domains whose name starts with `prefix` (default: this part's test prefix). */
export async function domainsWithPrefix(prefix = TEST_PREFIX): Promise<string[]> {
  const out = await virsh.exec(['list', '--all', '--name']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(prefix));
}

/** `virsh … console …` processes that name one of `ids` (UUIDs or names). */
export async function consoleProcesses(ids: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').then(
      (s) => s.split('\0'),
      () => [] as string[],
    );
    if (argv[0]?.endsWith('virsh') && argv.includes('console') && ids.some((id) => argv.includes(id))) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/** Temp-dir entries that start with `prefix`. */
export async function tempEntries(prefix = TEST_PREFIX): Promise<string[]> {
  return (await readdir(tmpdir())).filter((e) => e.startsWith(prefix));
}

/** Waits until `check` returns true (processes take a moment to exit); false on timeout. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}
