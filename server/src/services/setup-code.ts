// The one-time first-run setup code: while no user exists, POST /api/v1/setup needs it. Kept in
// <dataDir>/setup-code (mode 0600) for the console screen and `make dev` to show; given on the
// kernel command line by `make run`; gone once setup completes.
import { randomInt, timingSafeEqual } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';

export const SETUP_CODE_FILE = 'setup-code';
/** 32 letters and digits without 0/O and 1/I: 8 of them are 40 bits, read off a screen. */
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const VALID = /^[A-Z0-9]{8,32}$/;

/** Upper case without dashes and spaces: "abcd-efgh" and "ABCDEFGH" are the same code. */
const normalize = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');
/** Groups of four joined by dashes: "ABCD-EFGH". */
const display = (code: string) => code.match(/.{1,4}/g)!.join('-');

/** The code the server at `dataDir` wrote ("XXXX-XXXX"); for tests and tools on the same machine. */
export async function readSetupCode(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, SETUP_CODE_FILE), 'utf8')).trim();
}

export class SetupCode {
  private readonly file: string;
  /** Undefined until prepare() opens setup, and again once it is done. */
  private code: string | undefined;

  constructor(dataDir: string) {
    this.file = join(dataDir, SETUP_CODE_FILE);
  }

  /**
   * While `open` (no user yet): the code given (kernel command line or env), else the one from
   * the last start, else a new one; written to the file. Not open: any stale file is removed.
   */
  async prepare(open: boolean, given?: string): Promise<void> {
    const file = this.file;
    if (!open) {
      await rm(file, { force: true });
      return;
    }
    if (given && !VALID.test(normalize(given))) {
      log.warn('setup code from the command line ignored: 8-32 letters and digits expected');
      given = undefined;
    }
    const saved = normalize(await readFile(file, 'utf8').catch(() => ''));
    const code = given
      ? normalize(given)
      : VALID.test(saved)
        ? saved
        : Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    await writeFileAtomic(file, `${display(code)}\n`, 0o600);
    this.code = code;
  }

  /** True when `input` is the code (compared in constant time; case, dashes and spaces ignored). */
  matches(input: string | undefined): boolean {
    if (!this.code || !input) return false;
    const a = Buffer.from(normalize(input));
    const b = Buffer.from(this.code);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Setup is done: the code stops working and its file goes. */
  async consume(): Promise<void> {
    this.code = undefined;
    await rm(this.file, { force: true });
  }
}
