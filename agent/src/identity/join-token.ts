// The one-time join token an operator reads on this host (console screen or file) and gives to
// the vDC server. A successful join consumes it and a fresh one is written for a later re-join.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { writeAtomic } from './agent-identity.js';

export class JoinToken {
  private token: string;

  constructor(private readonly file: string) {
    this.token = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  }

  /** The current token, creating the file on first use. */
  async current(): Promise<string> {
    if (!this.token) await this.rotate();
    return this.token;
  }

  /** Constant-time check; on success the token is used up and replaced. */
  async consume(candidate: string): Promise<boolean> {
    const expected = Buffer.from(await this.current());
    const given = Buffer.from(candidate.trim());
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    if (ok) await this.rotate();
    return ok;
  }

  private async rotate(): Promise<void> {
    // Grouped for reading aloud / typing: qx-xxxxx-xxxxx-xxxxx-xxxxx.
    const raw = randomBytes(15).toString('base64url').replace(/[-_]/g, 'x').slice(0, 20).toLowerCase();
    this.token = `qx-${raw.match(/.{5}/g)!.join('-')}`;
    await writeAtomic(this.file, `${this.token}\n`, 0o600);
  }
}
