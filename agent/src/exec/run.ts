// The only child_process wrapper for one-shot commands: argv arrays (never a shell string),
// a timeout, AbortSignal support, optional stdin. Long-lived interactive processes use node-pty.
import { spawn } from 'node:child_process';

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output beyond this many bytes (per stream) is dropped. */
  maxOutputBytes?: number;
  /** Sees every output chunk as it arrives (progress parsing), before the size limit applies. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    const why = timedOut ? 'timed out' : `exited with ${exitCode}`;
    super(`${command} ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** How long a cancel waits for the killed command to exit before it gives up waiting. */
const ABORT_EXIT_WAIT_MS = 10_000;

/** Runs `command` with `args`; resolves with its output or rejects with ExecError. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const limit = options.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      signal: options.signal,
      // A cancel must stop it: a copy that ignores SIGTERM, or sleeps in an NFS call (only a fatal
      // signal wakes it), would go on writing into what the caller then removes.
      killSignal: 'SIGKILL',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      options.onOutput?.(b, 'stdout');
      if (outLen < limit) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      options.onOutput?.(b, 'stderr');
      if (errLen < limit) err.push(b);
      errLen += b.length;
    });
    let aborted: Error | undefined;
    let giveUp: NodeJS.Timeout | undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      if (e.name !== 'AbortError') return reject(e);
      // Cancelled: rejected once the process has exited ('close'), so that nothing it had open is
      // still written or held when the caller cleans up; but not after a thread of it stuck in the
      // kernel (an NFS write to a dead server) has held the caller for ABORT_EXIT_WAIT_MS.
      aborted = e;
      giveUp = setTimeout(() => reject(e), ABORT_EXIT_WAIT_MS);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (aborted) return reject(aborted);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 && !timedOut) resolve({ stdout, stderr });
      else reject(new ExecError(command, args, code, stderr, timedOut));
    });
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    child.stdin.end(options.input ?? '');
  });
}
