// A small real filesystem for space tests: a sparse ext4 image on its own loop device, mounted
// at a directory, so a test neither fills the machine's disk nor depends on how much is free.
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { makeFilesystem } from '../filesystem.js';
import { loopAttach, loopDetach } from '../loop-device.js';
import { mountFilesystem, unmount } from '../mounts.js';

export interface SmallFilesystem {
  mountPoint: string;
  /** Unmounts, detaches and removes the image; safe to call twice. */
  release(): Promise<void>;
}

/** Makes an ext4 of `sizeBytes` in `image` (a new file) and mounts it at `mountPoint`. */
export async function mountSmallFilesystem(
  image: string,
  mountPoint: string,
  sizeBytes: number,
): Promise<SmallFilesystem> {
  const undo: (() => Promise<unknown>)[] = [() => rm(image, { force: true })];
  const release = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await writeFile(image, '', { flag: 'wx' });
    await truncate(image, sizeBytes);
    await makeFilesystem(image, 'ext4');
    const device = await loopAttach(image);
    undo.push(() => loopDetach(device));
    await mkdir(mountPoint, { recursive: true });
    await mountFilesystem(device, mountPoint, 'ext4');
    undo.push(() => unmount(mountPoint));
    return { mountPoint, release };
  } catch (err) {
    await release();
    throw err;
  }
}
