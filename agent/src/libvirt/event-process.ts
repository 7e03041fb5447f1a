// The agent's one long-lived virsh child: `virsh event --loop --event lifecycle`, read line by
// line and restarted (after a pause) whenever it dies, until stop(). exec/run.ts covers one-shot
// commands only, so this is the single place that spawns a process that keeps running.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { log } from '../log.js';

const RESTART_DELAY_MS = 1_000;

export class VirshEventProcess {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  /** `onStart` runs every time a new child starts (events in between may have been missed). */
  constructor(
    private readonly uri: string,
    private readonly onLine: (line: string) => void,
    private readonly onStart: () => void = () => undefined,
  ) {}

  start(): void {
    if (this.stopped || this.child) return;
    const child = spawn('virsh', ['-q', '-c', this.uri, 'event', '--loop', '--event', 'lifecycle'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.resume();
    child.on('error', (err) => log.warn('virsh event failed to start', { error: err.message }));
    child.on('close', (code, signal) => {
      this.child = undefined;
      if (this.stopped) return;
      log.warn('virsh event exited; restarting', { code, signal });
      this.restartTimer = setTimeout(() => this.start(), RESTART_DELAY_MS);
    });
    this.onStart();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the child for good and resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    await closed;
  }
}
