// One interactive process under node-pty whose output fans out to any number of viewers; used
// for VM serial consoles (shared per VM) and host shells (one per viewer). Closing kills the
// process (SIGHUP, then SIGKILL after 2 s) and tells every viewer why.
import { spawn, type IPty } from 'node-pty';
import { run } from '../exec/run.js';

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
  /** Input that makes the process leave by itself (virsh console: Ctrl-]), tried before signals. */
  detachInput?: string;
  /**
   * What a viewer is shown first, before any live output (a VM console's scrollback): read when
   * the process is ready for viewers already attached, on attach for later ones.
   */
  backlog?: () => Buffer;
}

/** How long a viewer's live output may be held back at attach while the backlog catches up. */
const CATCH_UP_MS = 300;
const CATCH_UP_POLL_MS = 20;
/** The start of the held-back output looked for in the backlog. */
const PROBE_BYTES = 256;
/** Held-back output shorter than this could match the backlog by chance: its end must settle too. */
const SURE_MATCH_BYTES = 32;

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

  private readonly detachInput: string | undefined;
  private readonly backlog: (() => Buffer) | undefined;
  /** True once live output flows to viewers (the ready marker has been seen). */
  private live: boolean;
  /** Viewers not yet sent their backlog, with the live output held back for them meanwhile. */
  private readonly catchingUp = new Map<Viewer, Buffer[]>();

  constructor(file: string, args: readonly string[], options: PtyOptions = {}) {
    this.detachInput = options.detachInput;
    this.backlog = options.backlog;
    this.live = !options.readyMarker;
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
        this.live = true;
        for (const v of this.viewers) this.replayTo(v);
        void this.whenRaw().then(() => {
          this.ready = true;
          for (const input of this.pending.splice(0)) this.pty.write(input);
        });
        if (chunk.length === 0) return;
      }
      this.deliver(chunk);
    });
    this.ready = !options.readyMarker;
    this.done = new Promise((resolve) => {
      this.pty.onExit(() => {
        this.exited = true;
        this.catchingUp.clear();
        const reason = this.closeReason ?? 'process exited';
        for (const v of this.viewers) v.closed(reason);
        this.viewers.clear();
        this.onClose?.(reason);
        resolve();
      });
    });
  }

  /**
   * virsh prints its "connected" line before it switches the terminal to raw mode, and that
   * switch flushes pending input: so input waits until the pty really is raw (-icanon).
   */
  private async whenRaw(): Promise<void> {
    const pts = (this.pty as unknown as { ptsName?: string }).ptsName;
    if (!pts) return;
    const until = Date.now() + 5_000;
    while (Date.now() < until && !this.exited) {
      const { stdout } = await run('stty', ['-F', pts, '-a'], { timeoutMs: 2_000 }).catch(() => ({ stdout: '' }));
      if (/(^|\s)-icanon(\s|$)/.test(stdout)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
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
    if (this.live) this.replayTo(viewer);
  }

  private deliver(chunk: Buffer): void {
    for (const v of this.viewers) {
      const held = this.catchingUp.get(v);
      if (held) held.push(chunk);
      else v.data(chunk);
    }
  }

  /**
   * Sends `viewer` the backlog, then the live output. A VM's backlog is its serial log, which
   * virtlogd writes a moment after the same bytes go out live, and a console that connects first
   * gets what the pty buffered while nobody read it: read at once, the backlog lacked what was
   * printed just before the attach (lost) and held what then came live (shown twice): 11 gaps and
   * 7 repeats in 40 attaches to a guest printing continuously. So the live output is held back
   * until the backlog holds its end (then the backlog alone says it all), or until the backlog
   * stops growing when none came; after CATCH_UP_MS the backlog is cut where the live output
   * begins in it.
   */
  private replayTo(viewer: Viewer): void {
    const backlog = this.backlog;
    if (!backlog) return;
    const held: Buffer[] = [];
    this.catchingUp.set(viewer, held);
    const deadline = Date.now() + CATCH_UP_MS;
    let lastSize = -1;
    const attempt = () => {
      if (this.catchingUp.get(viewer) !== held) return; // it left, or the process ended
      const past = backlog();
      const live = Buffer.concat(held);
      const settled = past.length === lastSize;
      lastSize = past.length;
      const sure = live.length >= SURE_MATCH_BYTES || settled;
      const end = live.length && sure ? liveEndIn(past, live) : -1;
      const late = Date.now() >= deadline;
      if (!(live.length ? end >= 0 || late : settled || late)) {
        setTimeout(attempt, CATCH_UP_POLL_MS);
        return;
      }
      this.catchingUp.delete(viewer);
      if (end >= 0) {
        viewer.data(past.subarray(0, end));
        return;
      }
      const start = live.length ? liveStartIn(past, live) : -1;
      const before = start >= 0 ? past.subarray(0, start) : past;
      if (before.length) viewer.data(before);
      if (live.length) viewer.data(live);
    };
    attempt();
  }

  /** Removes a viewer without telling it (it asked to leave). */
  detach(viewer: Viewer): void {
    this.viewers.delete(viewer);
    this.catchingUp.delete(viewer);
  }

  write(data: Buffer | string): void {
    if (this.closed) return;
    if (this.ready) this.pty.write(data);
    else this.pending.push(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.pty.resize(clamp(cols, 80), clamp(rows, 24));
  }

  /**
   * Ends the process — the detach input first (when set and connected), then SIGHUP after
   * 500 ms, SIGKILL after 2.5 s — and resolves once it has exited; viewers get `reason`.
   */
  async close(reason: string): Promise<void> {
    if (this.exited) return;
    this.closeReason ??= reason;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(this.pty.pid, name);
      } catch {
        // already gone
      }
    };
    const timers: NodeJS.Timeout[] = [];
    if (this.detachInput && this.ready) {
      this.pty.write(this.detachInput);
      timers.push(setTimeout(() => signal('SIGHUP'), 500));
    } else {
      signal('SIGHUP');
    }
    timers.push(setTimeout(() => signal('SIGKILL'), 2_500));
    await this.done;
    for (const t of timers) clearTimeout(t);
  }
}

/** Where the backlog holds the end of `live` (output since the attach): just past it; -1 when not (yet). */
export function liveEndIn(past: Buffer, live: Buffer): number {
  const tail = live.subarray(Math.max(0, live.length - PROBE_BYTES));
  const at = past.lastIndexOf(tail);
  return at < 0 ? -1 : at + tail.length;
}

/**
 * Where `live` begins in `past`: the last place holding its first bytes, or where the backlog
 * ends inside them (SURE_MATCH_BYTES or more of them); -1 when neither.
 */
export function liveStartIn(past: Buffer, live: Buffer): number {
  const probe = live.subarray(0, PROBE_BYTES);
  const at = past.lastIndexOf(probe);
  if (at >= 0) return at;
  for (let n = Math.min(probe.length - 1, past.length); n >= SURE_MATCH_BYTES; n--) {
    if (past.subarray(past.length - n).equals(probe.subarray(0, n))) return past.length - n;
  }
  return -1;
}
