// virsh through exec/run.ts, bound to one connection URI. Every libvirt call of the agent goes
// through here, so the URI, the timeout and error translation live in one place.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, ExecError, type RunOptions } from '../exec/run.js';

export interface VirshOptions extends RunOptions {
  /** Keeps virsh's own messages on stdout (-q hides them, e.g. domfsfreeze's "Froze 1 filesystem(s)"). */
  messages?: boolean;
}

export class Virsh {
  constructor(
    readonly uri: string,
    /** Per call unless the call says otherwise. */
    readonly timeoutMs = 60_000,
  ) {}

  /** Runs `virsh -q -c <uri> <args…>` and returns stdout. Rejects with ExecError (stderr kept). */
  async exec(args: readonly string[], options: VirshOptions = {}): Promise<string> {
    const { messages = false, ...runOptions } = options;
    const quiet = messages ? [] : ['-q'];
    const { stdout } = await run('virsh', [...quiet, '-c', this.uri, ...args], {
      timeoutMs: this.timeoutMs,
      ...runOptions,
    });
    return stdout;
  }

  /**
   * Runs a virsh command that reads an XML file (define, create, …): the XML goes to a file in a
   * private temp dir (virsh cannot read a pipe as /dev/stdin) that is removed whatever happens.
   */
  async execWithXml(xml: string, args: (file: string) => readonly string[], options: RunOptions = {}): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'qx-virsh-xml-'));
    try {
      const file = join(dir, 'object.xml');
      await writeFile(file, xml, { mode: 0o600 });
      return await this.exec(args(file), options);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The libvirt error text of a failed call, without virsh's "error: " prefixes. */
  static message(err: unknown): string {
    if (err instanceof ExecError) {
      if (err.timedOut) return 'virsh timed out (is libvirtd responsive?)';
      return err.stderr
        .split('\n')
        .map((l) => l.replace(/^error:\s*/, '').trim())
        .filter((l) => l && !l.startsWith('Authorization not available'))
        .join('; ');
    }
    return err instanceof Error ? err.message : String(err);
  }
}
