// The HTTPS certificate: an installed one (<dataDir>/tls/installed.{crt,key}, via the API or by
// dropping the files there) wins; else a self-signed one for the hostname and current IPs,
// generated on first start and again whenever those names change (IPv4 SANs).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import type { CertificateDto } from '../dto/system.js';
import { badRequest } from '../errors.js';

export interface KeyCert {
  keyPem: string;
  certPem: string;
}

export function currentNames(): { dns: string[]; ips: string[] } {
  const ips = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4')
    .map((a) => a!.address);
  return { dns: [...new Set([hostname(), 'localhost'])], ips: [...new Set(['127.0.0.1', ...ips])].sort() };
}

export class HttpsCertificate {
  private kc!: KeyCert;
  source: 'generated' | 'installed' = 'generated';
  private readonly listeners: ((kc: KeyCert) => void)[] = [];

  private constructor(private readonly dir: string) {}

  static async load(dataDir: string): Promise<HttpsCertificate> {
    const c = new HttpsCertificate(join(dataDir, 'tls'));
    await mkdir(c.dir, { recursive: true, mode: 0o700 });
    const installed = await c.read('installed');
    if (installed) {
      c.kc = installed;
      c.source = 'installed';
    } else {
      await c.refreshGenerated();
    }
    return c;
  }

  get current(): KeyCert {
    return this.kc;
  }

  onChange(l: (kc: KeyCert) => void): void {
    this.listeners.push(l);
  }

  /**
   * Regenerates the self-signed certificate when the host's names/IPs (`names`, read from the OS
   * by default) differ from the ones it carries; true if it did.
   */
  async refreshGenerated(names: { dns: string[]; ips: string[] } = currentNames()): Promise<boolean> {
    if (this.source === 'installed') return false;
    const existing = await this.read('self-signed');
    if (existing && sameNames(existing.certPem, names)) {
      this.kc = existing;
      return false;
    }
    const made = await createSelfSigned({ commonName: hostname(), dnsNames: names.dns, ipAddresses: names.ips, days: 825, usages: ['server'] });
    await this.write('self-signed', made);
    this.set(made);
    return true;
  }

  async install(certPem: string, keyPem: string): Promise<void> {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch {
      throw badRequest('certificatePem: not a PEM certificate', 'certificatePem');
    }
    let key;
    try {
      key = createPrivateKey(keyPem);
    } catch {
      throw badRequest('privateKeyPem: not a PEM private key', 'privateKeyPem');
    }
    if (!cert.checkPrivateKey(key)) throw badRequest('privateKeyPem: the key does not belong to the certificate', 'privateKeyPem');
    if (new Date(cert.validTo) < new Date()) throw badRequest(`certificatePem: expired on ${cert.validTo}`, 'certificatePem');
    const kc = { certPem, keyPem };
    await this.write('installed', kc);
    this.source = 'installed';
    this.set(kc);
  }

  dto(): CertificateDto {
    const cert = new X509Certificate(this.kc.certPem);
    return {
      subject: cert.subject.replace(/\n/g, ', '),
      issuer: cert.issuer.replace(/\n/g, ', '),
      fingerprint: cert.fingerprint256,
      validFrom: cert.validFrom,
      validTo: cert.validTo,
      names: (cert.subjectAltName ?? '').split(', ').filter(Boolean),
      selfSigned: cert.subject === cert.issuer,
      source: this.source,
    };
  }

  private set(kc: KeyCert): void {
    this.kc = kc;
    for (const l of this.listeners) l(kc);
  }

  private async read(name: string): Promise<KeyCert | undefined> {
    try {
      return {
        certPem: await readFile(join(this.dir, `${name}.crt`), 'utf8'),
        keyPem: await readFile(join(this.dir, `${name}.key`), 'utf8'),
      };
    } catch {
      return undefined;
    }
  }

  private async write(name: string, kc: KeyCert): Promise<void> {
    for (const [ext, data, mode] of [['key', kc.keyPem, 0o600], ['crt', kc.certPem, 0o644]] as const) {
      const path = join(this.dir, `${name}.${ext}`);
      await writeFile(`${path}.tmp`, data, { mode });
      await rename(`${path}.tmp`, path);
    }
  }
}

function sameNames(certPem: string, names: { dns: string[]; ips: string[] }): boolean {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const have = new Set(san.split(', '));
  const want = [...names.dns.map((d) => `DNS:${d}`), ...names.ips.map((ip) => `IP Address:${ip}`)];
  return want.length === have.size && want.every((w) => have.has(w));
}
