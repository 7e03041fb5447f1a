// The one-time join token an operator reads on this host (console screen or file) and gives to
// the vDC server. It exists only while the host is joined to no vDC, and it expires. The file holds
// the token alone (scripts read it as is); `<file>.expires` holds its expiry (ISO 8601, UTC).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** What a presented token is: the current one, a stale one, or anything else. */
export type TokenCheck =
  { ok: true } | { ok: false; reason: 'wrong' } | { ok: false; reason: 'expired'; expiredAt: Date };

export class JoinToken {
  constructor(
    readonly file: string,
    private readonly lifetimeMs: number,
    /** The clock (tests move it instead of waiting for a short lifetime to pass). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The token on disk, read each time: the file is the truth (`qx agent renew-token` with the
   * agent stopped writes it too). A token without a readable expiry counts as expired.
   */
  read(): IssuedToken | undefined {
    const token = readOptional(this.file);
    if (!token) return undefined;
    const expiresAt = new Date(readOptional(`${this.file}.expires`) ?? '');
    return { token, expiresAt: Number.isNaN(expiresAt.getTime()) ? new Date(0) : expiresAt };
  }

  /** The current token while it is valid, else a new one. */
  async ensure(): Promise<IssuedToken> {
    const t = this.read();
    return t && t.expiresAt.getTime() > this.now() ? t : this.issue();
  }

  /** A fresh token for the configured lifetime; the old one stops working at once. */
  async issue(): Promise<IssuedToken> {
    // Grouped for reading aloud / typing: qx-xxxxx-xxxxx-xxxxx-xxxxx.
    const raw = randomBytes(15).toString('base64url').replace(/[-_]/g, 'x').slice(0, 20).toLowerCase();
    const issued = { token: `qx-${raw.match(/.{5}/g)!.join('-')}`, expiresAt: new Date(this.now() + this.lifetimeMs) };
    // Expiry first: a reader never sees the new token with the old token's expiry.
    await writeFileAtomic(`${this.file}.expires`, `${issued.expiresAt.toISOString()}\n`, 0o600);
    await writeFileAtomic(this.file, `${issued.token}\n`, 0o600);
    return issued;
  }

  /** Removes the token: a joined host has none to show or to accept. */
  async discard(): Promise<void> {
    await rm(this.file, { force: true });
    await rm(`${this.file}.expires`, { force: true });
  }

  /** Constant-time comparison with the current token; synchronous, so a join cannot interleave. */
  check(candidate: string): TokenCheck {
    const current = this.read();
    if (!current) return { ok: false, reason: 'wrong' };
    const expected = Buffer.from(current.token);
    const given = Buffer.from(candidate.trim());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'wrong' };
    if (current.expiresAt.getTime() <= this.now())
      return { ok: false, reason: 'expired', expiredAt: current.expiresAt };
    return { ok: true };
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
