// Encryption of what the servers keep in etcd (the vDC CA key, sessions, webhook secrets …):
// AES-256-GCM with a key only the servers hold, in <dataDir>/etcd-secret.key (mode 0600; every
// server of one control plane has the same file). etcd and its backups see ciphertext only.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';

const VERSION = 'v1:';

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static path(dataDir: string): string {
    return join(dataDir, 'etcd-secret.key');
  }

  /** The key file in `dataDir`, or undefined when there is none. */
  static async load(dataDir: string): Promise<SecretBox | undefined> {
    const path = SecretBox.path(dataDir);
    let text: string;
    try {
      text = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${path}: expected 64 hex digits (a 256-bit key)`);
    return new SecretBox(Buffer.from(text, 'hex'));
  }

  /** A new random key, written to `dataDir` (for the first server of a control plane). */
  static async create(dataDir: string): Promise<SecretBox> {
    const key = randomBytes(32);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(SecretBox.path(dataDir), `${key.toString('hex')}\n`, 0o600);
    return new SecretBox(key);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext; throws when the value was sealed with another key or altered. */
  open(sealed: string, what: string): string {
    if (!sealed.startsWith(VERSION)) throw new Error(`${what}: not sealed by this server version`);
    const raw = Buffer.from(sealed.slice(VERSION.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        `${what}: cannot be decrypted with this server's etcd-secret.key (another control plane's key, or altered)`,
      );
    }
  }
}
