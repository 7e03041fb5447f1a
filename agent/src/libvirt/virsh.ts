// virsh through exec/run.ts, bound to one connection URI. Every libvirt call of the agent goes
// through here, so the URI, the timeout and error translation live in one place.
import { run, ExecError, type RunOptions } from '../exec/run.js';

export class Virsh {
  constructor(readonly uri: string) {}

  /** Runs `virsh -c <uri> <args…>` and returns stdout. Rejects with ExecError (stderr kept). */
  async exec(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const { stdout } = await run('virsh', ['-q', '-c', this.uri, ...args], { timeoutMs: 60_000, ...options });
    return stdout;
  }

  /** The libvirt error text of a failed call, without virsh's "error: " prefixes. */
  static message(err: unknown): string {
    if (err instanceof ExecError) {
      return err.stderr
        .split('\n')
        .map((l) => l.replace(/^error:\s*/, '').trim())
        .filter((l) => l && !l.startsWith('Authorization not available'))
        .join('; ');
    }
    return err instanceof Error ? err.message : String(err);
  }
}
