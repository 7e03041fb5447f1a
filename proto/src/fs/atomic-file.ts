// Small state files written whole or not at all, for the agent and the server alike: a temp file
// of its own beside the target, fsync, rename, then the directory fsynced so that the rename
// itself survives a power cut. A crash leaves the old or the new contents, never half of either.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `file` with `text`, which then has mode `mode` (e.g. 0o600 for secrets); the directory
 * must exist. The temp name ends in ".tmp", so readers that pick files by suffix never see it.
 */
export async function writeFileAtomic(file: string, text: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.chmod(mode); // the umask may have narrowed the mode given to open()
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot replace ${file}: ${(err as Error).message}`, { cause: err });
  }
  const dh = await open(dirname(file), 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
