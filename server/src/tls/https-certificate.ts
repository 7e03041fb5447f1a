// The HTTPS certificate: an installed one (via the API, or a pair dropped in <dataDir>/tls as
// installed.{crt,key}) wins; else one generated for the hostname and the management IPv4
// addresses on first start and again whenever those names change, issued by this appliance's own
// HTTPS CA (made once, like Proxmox's pve-root-ca) and served with it: a client that trusts that CA
// (a browser that imported https-ca.crt, `qx login`, the tests) keeps trusting the server when an
// address change brings a new certificate. Each pair lives in one file, <name>.pem (key then
// certificate chain), replaced atomically, so no reader ever sees a certificate with another key;
// <name>.crt is a copy of the chain alone for clients and the status screen (leaf first).
import { readFile, rm, mkdir } from 'node:fs/promises';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { createCa, issueCertificate, isIssuedBy } from '@quantix/proto/tls/certificates.js';
import type { CertificateDto } from '../dto/system.js';
import { badRequest } from '../errors.js';
import { log } from '../log.js';
import { managementAddresses } from './management-addresses.js';

export interface KeyCert {
  keyPem: string;
  certPem: string;
}

export function currentNames(): { dns: string[]; ips: string[] } {
  return {
    dns: [...new Set([hostname(), 'localhost'])],
    ips: [...new Set(['127.0.0.1', ...managementAddresses()])].sort(),
  };
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
    const ca = await this.httpsCa();
    const existing = await this.read('self-signed');
    if (existing && sameNames(existing.certPem, names) && issuedBy(existing.certPem, ca.certPem)) {
      this.kc = existing;
      return false;
    }
    const leaf = await issueCertificate(ca, {
      commonName: hostname(),
      dnsNames: names.dns,
      ipAddresses: names.ips,
      days: 825,
      usages: ['server'],
    });
    const made = { keyPem: leaf.keyPem, certPem: `${leaf.certPem.trimEnd()}\n${ca.certPem.trimEnd()}\n` };
    await this.write('self-signed', made);
    this.set(made);
    return true;
  }

  /** This appliance's HTTPS CA (<dataDir>/tls/https-ca.pem), made on first use. */
  private async httpsCa(): Promise<KeyCert> {
    const existing = await this.read('https-ca');
    if (existing) return existing;
    const ca = await createCa(`Quantix appliance ${hostname()} HTTPS CA`, 3650);
    await this.write('https-ca', ca);
    return ca;
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
    if (!cert.checkPrivateKey(key))
      throw badRequest('privateKeyPem: the key does not belong to the certificate', 'privateKeyPem');
    if (new Date(cert.validTo) < new Date())
      throw badRequest(`certificatePem: expired on ${cert.validTo}`, 'certificatePem');
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
      // Generated = signed by no CA a browser knows (this appliance's own, or itself).
      selfSigned: this.source === 'generated' || cert.subject === cert.issuer,
      source: this.source,
    };
  }

  private set(kc: KeyCert): void {
    this.kc = kc;
    for (const l of this.listeners) l(kc);
  }

  /**
   * The pair `name`: a pair dropped as <name>.crt + <name>.key (or left by an older version) is
   * adopted into <name>.pem when the key belongs to the certificate; else <name>.pem.
   */
  private async read(name: string): Promise<KeyCert | undefined> {
    const path = (ext: string) => join(this.dir, `${name}.${ext}`);
    const dropped = await readPair(path('crt'), path('key'));
    if (dropped) {
      if (matches(dropped)) {
        await this.write(name, dropped);
        return dropped;
      }
      log.error('HTTPS certificate: the key does not belong to the certificate; ignored', {
        certificate: path('crt'),
        key: path('key'),
      });
    }
    const pem = await readFile(path('pem'), 'utf8').catch(() => undefined);
    if (pem === undefined) return undefined;
    const kc = splitPair(pem);
    if (kc && matches(kc)) {
      // The certificate copy may lag the pair after a crash between the two renames.
      if ((await readFile(path('crt'), 'utf8').catch(() => '')) !== kc.certPem)
        await writeFileAtomic(path('crt'), kc.certPem, 0o644);
      return kc;
    }
    log.error('HTTPS certificate: not a key and its certificate; ignored', { file: path('pem') });
    return undefined;
  }

  /**
   * The pair first (one atomic file: key and certificate together), then the certificate copy; a
   * separate key file (dropped by hand) is superseded and removed.
   */
  private async write(name: string, kc: KeyCert): Promise<void> {
    await writeFileAtomic(join(this.dir, `${name}.pem`), `${kc.keyPem.trimEnd()}\n${kc.certPem}`, 0o600);
    await writeFileAtomic(join(this.dir, `${name}.crt`), kc.certPem, 0o644);
    await rm(join(this.dir, `${name}.key`), { force: true });
  }
}

async function readPair(certFile: string, keyFile: string): Promise<KeyCert | undefined> {
  try {
    return { keyPem: await readFile(keyFile, 'utf8'), certPem: await readFile(certFile, 'utf8') };
  } catch {
    return undefined;
  }
}

const KEY_BLOCK = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----\r?\n?/;

/** <name>.pem → key and certificate (chain); undefined unless both are there. */
function splitPair(pem: string): KeyCert | undefined {
  const key = KEY_BLOCK.exec(pem);
  if (!key) return undefined;
  const certPem = pem.slice(key.index + key[0].length).trimStart();
  return certPem.includes('-----BEGIN CERTIFICATE-----') ? { keyPem: key[0], certPem } : undefined;
}

function matches(kc: KeyCert): boolean {
  try {
    return new X509Certificate(kc.certPem).checkPrivateKey(createPrivateKey(kc.keyPem));
  } catch {
    return false;
  }
}

function issuedBy(certPem: string, caPem: string): boolean {
  return isIssuedBy(new X509Certificate(certPem), new X509Certificate(caPem));
}

function sameNames(certPem: string, names: { dns: string[]; ips: string[] }): boolean {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const have = new Set(san.split(', '));
  const want = [...names.dns.map((d) => `DNS:${d}`), ...names.ips.map((ip) => `IP Address:${ip}`)];
  return want.length === have.size && want.every((w) => have.has(w));
}
