// One interactive process under node-pty whose output fans out to any number of viewers; used
// for VM serial consoles (shared per VM) and host shells (one per viewer). Closing kills the
// process (SIGHUP, then SIGKILL after 2 s) and tells every viewer why.
import { spawn, type IPty } from 'node-pty';

export interface Viewer {
  data(chunk: Buffer): void;
  closed(reason: string): void;
}

export interface PtyOptions {
  cols?: number;
  rows?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Output up to and including this text is the tool's own preamble: it is not shown, and
   * input is held back until it has appeared (so keystrokes cannot get lost while connecting).
   */
  readyMarker?: string;
}

const clamp = (n: number | undefined, fallback: number) => Math.min(1000, Math.max(1, Math.floor(n || fallback)));

export class PtySession {
  private readonly pty: IPty;
  private readonly viewers = new Set<Viewer>();
  private closeReason: string | undefined;
  private exited = false;
  private ready: boolean;
  private readonly pending: (Buffer | string)[] = [];
  /** Resolves once the process has exited. */
  readonly done: Promise<void>;
  /** Called once, after the process exited, with the reason given to viewers. */
  onClose: ((reason: string) => void) | undefined;

  constructor(file: string, args: readonly string[], options: PtyOptions = {}) {
    this.pty = spawn(file, [...args], {
      name: 'xterm-256color',
      cols: clamp(options.cols, 80),
      rows: clamp(options.rows, 24),
      cwd: options.cwd ?? process.cwd(),
      env: (options.env ?? process.env) as Record<string, string>,
      encoding: null,
    });
    let preamble: Buffer | undefined = options.readyMarker ? Buffer.alloc(0) : undefined;
    this.pty.onData((d) => {
      let chunk = typeof d === 'string' ? Buffer.from(d) : (d as Buffer);
      if (preamble) {
        preamble = Buffer.concat([preamble, chunk]);
        const at = preamble.indexOf(options.readyMarker!);
        if (at < 0) return;
        chunk = preamble.subarray(at + options.readyMarker!.length);
        preamble = undefined;
        for (const input of this.pending.splice(0)) this.pty.write(input);
        this.ready = true;
        if (chunk.length === 0) return;
      }
      for (const v of this.viewers) v.data(chunk);
    });
    this.ready = !options.readyMarker;
    this.done = new Promise((resolve) => {
      this.pty.onExit(() => {
        this.exited = true;
        const reason = this.closeReason ?? 'process exited';
        for (const v of this.viewers) v.closed(reason);
        this.viewers.clear();
        this.onClose?.(reason);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.pty.pid;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get closed(): boolean {
    return this.exited || this.closeReason !== undefined;
  }

  attach(viewer: Viewer): void {
    this.viewers.add(viewer);
  }

  /** Removes a viewer without telling it (it asked to leave). */
  detach(viewer: Viewer): void {
    this.viewers.delete(viewer);
  }

  write(data: Buffer | string): void {
    if (this.closed) return;
    if (this.ready) this.pty.write(data);
    else this.pending.push(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.pty.resize(clamp(cols, 80), clamp(rows, 24));
  }

  /** Ends the process; viewers still attached get `reason`. */
  async close(reason: string): Promise<void> {
    if (this.exited) return;
    this.closeReason ??= reason;
    this.pty.kill('SIGHUP');
    const force = setTimeout(() => {
      try {
        process.kill(this.pty.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 2_000);
    await this.done;
    clearTimeout(force);
  }
}
