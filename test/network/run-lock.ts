// One run at a time per network test file: two runs of the same test (e.g. two people running
// `npm test`) would fight over the same names and subnets. A pid file with stale-owner takeover.
import { open, readFile, rm } from 'node:fs/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until this process holds `file`; returns the release function. */
export async function takeRunLock(file: string, timeoutMs = 600_000): Promise<() => Promise<void>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (!owner || !alive(owner)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > end) throw new Error(`${file}: another run (pid ${owner}) holds the lock`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
