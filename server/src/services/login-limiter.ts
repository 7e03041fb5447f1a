// Login rate limiting: after 5 failures for a username (or 20 from one address) within
// 15 minutes, sign-in is refused for 5 minutes. In memory: a restart forgives.
const WINDOW_MS = 15 * 60_000;
const LOCK_MS = 5 * 60_000;
const MAX_PER_USER = 5;
const MAX_PER_ADDRESS = 20;

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds until `username`/`address` may try again; 0 = allowed now. */
  retryAfter(username: string, address: string): number {
    const t = this.now();
    const until = Math.max(this.entry(`u:${username}`).lockedUntil, this.entry(`a:${address}`).lockedUntil);
    return until > t ? Math.ceil((until - t) / 1000) : 0;
  }

  fail(username: string, address: string): void {
    this.bump(`u:${username}`, MAX_PER_USER);
    this.bump(`a:${address}`, MAX_PER_ADDRESS);
  }

  succeed(username: string): void {
    this.entries.delete(`u:${username}`);
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { failures: [], lockedUntil: 0 };
      this.entries.set(key, e);
    }
    return e;
  }

  private bump(key: string, max: number): void {
    const t = this.now();
    const e = this.entry(key);
    e.failures = e.failures.filter((f) => t - f < WINDOW_MS);
    e.failures.push(t);
    if (e.failures.length >= max) {
      e.lockedUntil = t + LOCK_MS;
      e.failures = [];
    }
  }
}
