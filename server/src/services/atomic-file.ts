// Small files written whole or not at all: temp file, fsync, rename, then the directory fsynced
// so the rename itself survives a power cut. For state the auth service keeps beside the db.
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Replaces `path` with `text` atomically; the file gets `mode` (e.g. 0o600 for secrets). */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await open(tmp, 'w', mode);
  try {
    await f.writeFile(text);
    await f.chmod(mode);
    await f.sync();
  } finally {
    await f.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`cannot replace ${path}: ${(err as Error).message}`, { cause: err });
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
