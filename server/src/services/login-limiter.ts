// Sign-in attempt limiting (logins and the first-run setup code). An attempt is counted before
// its secret is checked, so parallel guesses cannot pass the limit. Kept in
// <dataDir>/login-limiter.json (written atomically): a restart forgives nothing. Bounded in size;
// idle entries expire.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Per (name, address): 5 failures within 15 min lock that pair for 5 min, doubling per repeat (≤ 1 h). */
const PAIR = { max: 5, window: 15 * MIN, lock: 5 * MIN, maxLock: HOUR };
/** Per address, any name: 20 failures within 15 min lock the address for 5 min (name spraying). */
const ADDRESS = { max: 20, window: 15 * MIN, lock: 5 * MIN, maxLock: HOUR };
/**
 * Per name across addresses: past 10 failures within an hour, addresses that are not trusted for
 * that name get one attempt per 2^(n-10) s (≤ 5 min). Never a lock everywhere: loopback (the
 * console) and addresses that signed in as that name before are not slowed by it.
 */
const NAME = { free: 10, window: HOUR, maxDelay: 5 * MIN };
/** An address stays trusted for a name this long after its last successful sign-in. */
const TRUST_MS = 30 * DAY;
/** Caps on what is kept (oldest dropped first) and on the timestamps kept per counter. */
const MAX_COUNTERS = 20_000;
const MAX_TRUSTED = 5_000;
const MAX_STAMPS = 64;
const FILE = 'login-limiter.json';

interface Counter {
  /** Times of counted attempts (failed, or still being checked) inside the window. */
  stamps: number[];
  lockedUntil: number;
  /** Locks so far; each doubles the next lock. Forgotten a day after the last attempt. */
  locks: number;
}

interface Saved {
  version: 1;
  counters: [string, Counter][];
  trusted: [string, number][];
}

/** What the limiter keys an address by: IPv4 as is (also IPv4-mapped IPv6), IPv6 by its /64. */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** 127.0.0.0/8, and ::1 (keyed as the /64 it lies in, which holds no other real peer). */
const isLoopback = (key: string) => key.startsWith('127.') || key === '0:0:0:0::/64';

export class LoginLimiter {
  private readonly counters = new Map<string, Counter>();
  /** `${name}\n${address}` → time of the last successful sign-in from there. */
  private readonly trusted = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;

  /** `file` undefined = in memory only (unit tests). */
  constructor(
    private readonly file?: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The limiter of `dataDir`, with what it had counted before a restart. */
  static async open(dataDir: string, now: () => number = Date.now): Promise<LoginLimiter> {
    const l = new LoginLimiter(join(dataDir, FILE), now);
    let text: string;
    try {
      text = await readFile(l.file!, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return l;
      throw new Error(`cannot read ${l.file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const s = JSON.parse(text) as Saved;
      for (const [k, c] of s.counters ?? []) {
        if (Array.isArray(c?.stamps))
          l.counters.set(k, {
            stamps: c.stamps.slice(-MAX_STAMPS),
            lockedUntil: +c.lockedUntil || 0,
            locks: +c.locks || 0,
          });
      }
      for (const [k, t] of s.trusted ?? []) if (typeof t === 'number') l.trusted.set(k, t);
      l.prune();
    } catch (err) {
      log.warn('login limiter state unreadable: starting empty', { file: l.file, error: (err as Error).message });
    }
    return l;
  }

  /**
   * Counts one attempt by `name` from `address` before its secret is checked: 0 = go ahead (the
   * attempt already counts as failed until succeed()); else the seconds to wait, nothing counted.
   * Synchronous on purpose: parallel attempts see each other.
   */
  attempt(name: string, address: string): number {
    const t = this.now();
    const addr = addressKey(address);
    const pair = this.counter(`p:${name}\n${addr}`, PAIR.window);
    const byAddress = this.counter(`a:${addr}`, ADDRESS.window);
    const byName = this.counter(`n:${name}`, NAME.window);
    let until = Math.max(pair.lockedUntil, byAddress.lockedUntil);
    if (!isLoopback(addr) && !this.isTrusted(name, addr, t) && byName.stamps.length >= NAME.free) {
      const delay = Math.min(NAME.maxDelay, 1000 * 2 ** (byName.stamps.length - NAME.free));
      until = Math.max(until, byName.stamps.at(-1)! + delay);
    }
    if (until > t) return Math.ceil((until - t) / 1000);
    this.count(`p:${name}\n${addr}`, pair, PAIR, t);
    this.count(`a:${addr}`, byAddress, ADDRESS, t);
    this.count(`n:${name}`, byName, undefined, t);
    this.schedule();
    return 0;
  }

  /**
   * The secret was right: this attempt is taken back, the pair's record cleared and the address
   * trusted for the name. Earlier failures by address and by name stay (an attacker signing in
   * to their own account must not wipe their record).
   */
  succeed(name: string, address: string): void {
    const addr = addressKey(address);
    this.counters.delete(`p:${name}\n${addr}`);
    for (const key of [`a:${addr}`, `n:${name}`]) this.counters.get(key)?.stamps.pop();
    const tk = `${name}\n${addr}`;
    this.trusted.delete(tk);
    this.trusted.set(tk, this.now());
    if (this.trusted.size > MAX_TRUSTED) this.trusted.delete(this.trusted.keys().next().value!);
    this.schedule();
  }

  /** Resolves once everything counted so far is on disk (a failed write is logged, not thrown). */
  saved(): Promise<void> {
    return this.writing;
  }

  /** A counter with its stamps outside `window` dropped (created when absent). */
  private counter(key: string, window: number): Counter {
    const t = this.now();
    const c = this.counters.get(key) ?? { stamps: [], lockedUntil: 0, locks: 0 };
    c.stamps = c.stamps.filter((s) => t - s < window);
    if (c.locks && c.stamps.length === 0 && c.lockedUntil + DAY < t) c.locks = 0;
    return c;
  }

  private count(key: string, c: Counter, rule: typeof PAIR | undefined, t: number): void {
    c.stamps.push(t);
    if (c.stamps.length > MAX_STAMPS) c.stamps.shift();
    if (rule && c.stamps.length >= rule.max) {
      c.lockedUntil = t + Math.min(rule.maxLock, rule.lock * 2 ** c.locks);
      c.locks++;
      c.stamps = [];
    }
    // Re-inserted so the map's order is least recently used first.
    this.counters.delete(key);
    this.counters.set(key, c);
    // Least recently used first out; expired entries go at the next save.
    while (this.counters.size > MAX_COUNTERS) this.counters.delete(this.counters.keys().next().value!);
  }

  private isTrusted(name: string, addr: string, t: number): boolean {
    const at = this.trusted.get(`${name}\n${addr}`);
    return at !== undefined && t - at < TRUST_MS;
  }

  /** Drops counters with nothing left to remember and trust that has run out. */
  private prune(): void {
    const t = this.now();
    for (const [k, c] of this.counters) {
      const window = k.startsWith('n:') ? NAME.window : PAIR.window;
      const live =
        c.lockedUntil > t || c.stamps.some((s) => t - s < window) || (c.locks > 0 && c.lockedUntil + DAY > t);
      if (!live) this.counters.delete(k);
    }
    for (const [k, at] of this.trusted) if (t - at >= TRUST_MS) this.trusted.delete(k);
  }

  /** One write at a time; calls while one waits to start share it. */
  private schedule(): void {
    if (!this.file || this.pending) return;
    const next = this.writing.then(() => {
      this.pending = undefined;
      return this.write();
    });
    this.pending = next;
    this.writing = next.catch((err: Error) =>
      log.error('login limiter state not saved', { file: this.file, error: err.message }),
    );
  }

  private async write(): Promise<void> {
    this.prune();
    const s: Saved = { version: 1, counters: [...this.counters], trusted: [...this.trusted] };
    await writeFileAtomic(this.file!, JSON.stringify(s));
  }
}
