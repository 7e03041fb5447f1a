// Leftovers of work that a crash interrupted inside a pool directory: the hidden temp files and
// staging directories (".qx-…") that volume creates, clones, uploads and OVA import/export write
// before they publish. At agent start no such work can be running, so every one of them is stale.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_FORMATS_FILE } from './volume-formats.js';

/** Removes the stale ".qx-" entries in `dir` (never the volume-format record); returns their names. */
export async function removeInterruptedWork(dir: string): Promise<string[]> {
  const stale = (await readdir(dir)).filter((name) => name.startsWith('.qx-') && name !== VOLUME_FORMATS_FILE);
  for (const name of stale) await rm(join(dir, name), { recursive: true, force: true });
  return stale;
}
