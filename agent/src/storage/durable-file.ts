// Files that must survive a power cut once the agent has said they are saved (a backup's
// manifest and small files): the data fsynced before the call returns, and a directory fsynced
// where a new name in it (a file made, a rename) must last too.
import type { OpenMode } from 'node:fs';
import { open } from 'node:fs/promises';

/** writeFile, then fsync, before it returns. */
export async function writeFileDurably(
  path: string,
  data: string | Uint8Array,
  opts: { flag?: OpenMode; mode: number },
): Promise<void> {
  const fh = await open(path, opts.flag ?? 'w', opts.mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes the entries of `dir` (names made, removed or renamed in it) durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
