// Which vDC this host is joined to: the vDC CA (identity/vdc-ca.crt) and id (identity/vdc-id), and
// the join token, which exists only while the host is joined to none. Every join and leave goes
// through here: EnrollService/Join, HostService/Leave, the console's reset (control socket) and
// `qx agent leave` with the agent stopped.
import { X509Certificate } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument } from '../errors.js';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import type { IssuedToken, JoinToken } from './join-token.js';
import { readOptional } from './agent-identity.js';

export interface VdcStatus {
  joined: boolean;
  vdcId: string;
  /** SHA-256 of the vDC CA certificate; "" while not joined. */
  caFingerprint: string;
  /** The join token and its expiry (ISO 8601); "" while joined. */
  token: string;
  tokenExpiresAt: string;
}

type Listener = (caPem: string | undefined) => void;

export class VdcMembership {
  private listeners = new Set<Listener>();

  private constructor(
    private readonly dir: string,
    readonly joinToken: JoinToken,
    private caPem: string | undefined,
    private vdcId: string,
  ) {}

  /** Reads the state under `<dataDir>/identity`; a host joined to no vDC gets a valid token. */
  static async load(dataDir: string, joinToken: JoinToken): Promise<VdcMembership> {
    const dir = join(dataDir, 'identity');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const caPem = (await readOptional(join(dir, 'vdc-ca.crt')))?.trim() || undefined;
    const vdcId = (await readOptional(join(dir, 'vdc-id')))?.trim() ?? '';
    const m = new VdcMembership(dir, joinToken, caPem, vdcId);
    if (caPem) await joinToken.discard();
    else await joinToken.ensure();
    return m;
  }

  get joined(): boolean {
    return this.caPem !== undefined;
  }

  /** The CA whose certificates this host serves; undefined while joined to none. */
  get ca(): X509Certificate | undefined {
    return this.caPem ? new X509Certificate(this.caPem) : undefined;
  }

  get caCertificatePem(): string | undefined {
    return this.caPem;
  }

  /** Called with the new CA (undefined after a leave) each time it changes. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** "vDC <id> (CA SHA-256 …)", for messages. */
  describe(): string {
    const fp = this.ca?.fingerprint256 ?? '';
    return `vDC ${this.vdcId || '(id unknown)'} (CA SHA-256 ${fp})`;
  }

  status(): VdcStatus {
    const t = this.joined ? undefined : this.joinToken.read();
    return {
      joined: this.joined,
      vdcId: this.vdcId,
      caFingerprint: this.ca?.fingerprint256 ?? '',
      token: t?.token ?? '',
      tokenExpiresAt: t?.expiresAt.toISOString() ?? '',
    };
  }

  /**
   * A vDC that knows the current token hands over its CA. Refused while joined (a token read
   * earlier must not let anyone replace the CA) and once the token expired.
   */
  async join(token: string, caPem: string, vdcId: string): Promise<void> {
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(caPem);
    } catch {
      throw invalidArgument('ca_certificate_pem', 'not a PEM certificate');
    }
    if (!ca.ca) throw invalidArgument('ca_certificate_pem', 'the certificate is not a CA');
    if (this.joined) {
      throw failedPrecondition(
        `already joined to ${this.describe()}; reset at the host's console or remove it from that vDC`,
      );
    }
    const check = this.joinToken.check(token);
    if (!check.ok && check.reason === 'expired') {
      throw new AgentError(
        ErrorCode.PermissionDenied,
        `the join token expired at ${check.expiredAt.toISOString()}; make a new one at the host's console (key T)`,
      );
    }
    if (!check.ok) {
      throw new AgentError(
        ErrorCode.PermissionDenied,
        'the join token is wrong or was already used; read the current token on the host',
      );
    }
    // Taken synchronously, before any await: a second Join racing this one finds the host joined.
    this.set(caPem, vdcId);
    try {
      await writeFileAtomic(join(this.dir, 'vdc-ca.crt'), `${caPem.trim()}\n`, 0o644);
      await writeFileAtomic(join(this.dir, 'vdc-id'), `${vdcId}\n`, 0o600);
      await this.joinToken.discard();
    } catch (err) {
      this.set(undefined, '');
      throw err;
    }
  }

  /** Forgets the vDC: no client is served until the next join, with the fresh token returned. */
  async leave(): Promise<IssuedToken> {
    this.set(undefined, '');
    await rm(join(this.dir, 'vdc-ca.crt'), { force: true });
    await rm(join(this.dir, 'vdc-id'), { force: true });
    return this.joinToken.issue();
  }

  /** A new token (the console's T key); a joined host has none. */
  async renewToken(): Promise<IssuedToken> {
    if (this.joined) throw failedPrecondition(`this host is joined to ${this.describe()}: it has no join token`);
    return this.joinToken.issue();
  }

  private set(caPem: string | undefined, vdcId: string): void {
    const changed = caPem !== this.caPem;
    this.caPem = caPem;
    this.vdcId = vdcId;
    if (changed) for (const l of this.listeners) l(caPem);
  }
}
