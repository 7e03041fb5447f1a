// Update bundles for the appliance test (#25): a new version without rebuilding the image.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { applianceIso, repoRoot } from './appliance-boot.js';

const minutes = (n: number) => n * 60_000;

/** Files of the extra layer: path (relative to /) → contents and mode. */
export type LayerFiles = Record<string, { text: string; mode: number }>;

/** /etc/quantix-release naming `version`: the version the system reports. */
export const releaseFile = (version: string): LayerFiles => ({
  'etc/quantix-release': { text: `QUANTIX_VERSION=${version}\nQUANTIX_BUILD=update-test\n`, mode: 0o644 },
});

/**
 * A bundle of the ISO's layers plus one more squashfs layer holding `files` on top, signed with the
 * build's key (build/iso/update-key.sh), as build/iso/make-bundle.mjs signs the release's.
 */
export async function layeredBundle(workDir: string, name: string, version: string, files: LayerFiles) {
  const dir = join(workDir, `bundle-${name}`);
  await rm(dir, { recursive: true, force: true });
  const live = join(dir, 'live');
  await mkdir(live, { recursive: true });
  const parts = ['vmlinuz', 'initrd.img', '00-base.squashfs', '10-app.squashfs'];
  await run(
    'xorriso',
    ['-osirrox', 'on', '-indev', applianceIso(), ...parts.flatMap((p) => ['-extract', `/live/${p}`, join(live, p)])],
    { timeoutMs: minutes(3) },
  );
  const layerRoot = join(dir, 'layer');
  for (const [path, f] of Object.entries(files)) {
    await mkdir(join(layerRoot, path, '..'), { recursive: true });
    await writeFile(join(layerRoot, path), f.text, { mode: f.mode });
  }
  const layer = `20-${name}.squashfs`;
  await run('mksquashfs', [layerRoot, join(live, layer), '-comp', 'zstd', '-noappend', '-quiet', '-all-root'], {
    timeoutMs: minutes(2),
  });
  await writeFile(join(live, 'filesystem.module'), `00-base.squashfs\n10-app.squashfs\n${layer}\n`);
  const key = (await run('bash', [join(repoRoot, 'build/iso/update-key.sh')], { timeoutMs: 60_000 })).stdout.trim();
  const out = join(dir, `${name}.qxu`);
  const all = [...parts, layer, 'filesystem.module'].map((p) => join(live, p));
  await run(
    process.execPath,
    [join(repoRoot, 'build/iso/make-bundle.mjs'), '--key', key, '--version', version, '--out', out, ...all],
    { timeoutMs: minutes(3) },
  );
  await rm(live, { recursive: true, force: true });
  return out;
}
