// For tests only (server and agent): a directory laid out as an appliance root — kernel command
// line, etc/quantix-release, grubenv, the image's update key — with a stand-in for
// appliance/quantix-update that records each call; its `arm`, where the real script reboots,
// leaves the armed version in next-release for the test's "reboot" to put in place. And update
// bundles made by the build's own script (build/iso/make-bundle.mjs).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { MEDIUM, UPDATE_SCRIPT, parseKeyValues } from './appliance-system.js';

const MAKE_BUNDLE = resolve(import.meta.dirname, '../../../../build/iso/make-bundle.mjs');
const PARTS = ['vmlinuz', 'initrd.img', '00-base.squashfs', 'filesystem.module'];

export function keyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** A signed bundle of `version` in `dir` (made by make-bundle.mjs with `privatePem`). */
export async function makeTestBundle(dir: string, name: string, privatePem: string, version: string): Promise<string> {
  const parts = join(dir, `${name}-parts`);
  await mkdir(parts, { recursive: true });
  for (const p of PARTS) await writeFile(join(parts, p), `${p} of ${version}`);
  await writeFile(join(dir, `${name}.key.pem`), privatePem, { mode: 0o600 });
  const out = join(dir, `${name}.qxu`);
  const args = ['--key', join(dir, `${name}.key.pem`), '--version', version, '--out', out];
  await promisify(execFile)(process.execPath, [MAKE_BUNDLE, ...args, ...PARTS.map((p) => join(parts, p))]);
  return out;
}

export interface ApplianceRoot {
  root: string;
  /** The stand-in quantix-update's calls, oldest first: "<epoch ms> <args>". */
  calls(): Promise<string[]>;
  /** What a reboot into the armed slot shows once healthy: that slot and its version run, marked good. */
  rebootIntoArmed(): Promise<void>;
  /** Becomes installed (booted `slot`, default a; `goodSlot` default a) or live, as the next boot will show. */
  setInstalled(installed: boolean, goodSlot?: 'a' | 'b', slot?: 'a' | 'b'): Promise<void>;
}

export async function makeApplianceRoot(
  root: string,
  o: { version: string; publicKeyPem: string; installed?: boolean },
): Promise<ApplianceRoot> {
  const file = (rel: string) => join(root, rel);
  await mkdir(file('etc'), { recursive: true });
  await mkdir(file('proc'), { recursive: true });
  await mkdir(file('usr/lib/quantix'), { recursive: true });
  await mkdir(file(`${MEDIUM}/boot/grub`), { recursive: true });
  await writeFile(file('etc/quantix-release'), `QUANTIX_VERSION=${o.version}\nQUANTIX_BUILD=test\n`);
  await writeFile(file('usr/lib/quantix/update-key.pem'), o.publicKeyPem);
  const record = file('quantix-update.calls');
  await writeFile(
    file(UPDATE_SCRIPT),
    `#!/bin/sh
# Stands in for appliance/quantix-update (which needs a real medium to remount): records each call.
echo "$(date +%s%3N) $*" >> '${record}'
other=b; grep -q 'quantix.slot=b' '${file('proc/cmdline')}' && other=a
case "$1" in
  prepare) mkdir -p '${file(MEDIUM)}'/slot-$other/live && echo '${file(MEDIUM)}'/slot-$other/live ;;
  arm) printf 'QUANTIX_VERSION=%s\\nslot=%s\\n' "$4" "$2" > '${file('next-release')}' ;;
esac
`,
  );
  await chmod(file(UPDATE_SCRIPT), 0o755);
  const setInstalled = async (installed: boolean, goodSlot: 'a' | 'b' = 'a', slot: 'a' | 'b' = 'a') => {
    await writeFile(file('proc/cmdline'), `boot=live quiet${installed ? ` quantix.slot=${slot}` : ''}\n`);
    await writeFile(file(`${MEDIUM}/boot/grub/grubenv`), `# GRUB Environment Block\ngood_slot=${goodSlot}\n###\n`);
  };
  await setInstalled(o.installed ?? true);
  return {
    root,
    calls: async () => (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    rebootIntoArmed: async () => {
      const next = parseKeyValues(await readFile(file('next-release'), 'utf8'));
      const slot = next.slot === 'b' ? 'b' : 'a';
      await writeFile(file('etc/quantix-release'), `QUANTIX_VERSION=${next.QUANTIX_VERSION}\nQUANTIX_BUILD=test\n`);
      await rm(file('next-release'));
      // Booted the armed slot and found healthy: quantix-update health marks it good.
      await setInstalled(true, slot, slot);
    },
    setInstalled,
  };
}
