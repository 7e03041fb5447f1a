// X.509 profile of the agent/server handshake (part of the contract, used by both sides):
// ECDSA P-256 keys on WebCrypto (@peculiar/x509), self-signed and CA-issued certificates,
// SHA-256 fingerprints. Pure functions, no file I/O.
import { webcrypto, X509Certificate } from 'node:crypto';
// @peculiar/x509 (tsyringe inside) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 is typed against the DOM's WebCrypto; Node's is the same API under other names.
x509.cryptoProvider.set(webcrypto as never);
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

export interface CertificateRequest {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** URI SANs, e.g. urn:quantix:agent:<host id> (an agent's role in the vDC). */
  uris?: string[];
  days: number;
  /** serverAuth, clientAuth or both. */
  usages: ('server' | 'client')[];
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  // Positive, 16 random bytes.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function leafExtensions(req: CertificateRequest): x509.Extension[] {
  const names: x509.JsonGeneralName[] = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(req.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const usages = req.usages.map((u) =>
    u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
  );
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension(usages),
  ];
  if (names.length) exts.push(new x509.SubjectAlternativeNameExtension(names));
  return exts;
}

function dn(commonName: string): string {
  return `CN=${commonName.replace(/[,+="\\<>;#]/g, '_')}, O=Quantix-vDC`;
}

/** A self-signed leaf certificate (an agent's identity, the server's first HTTPS certificate). */
export async function createSelfSigned(req: CertificateRequest): Promise<KeyAndCert> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: dn(req.commonName),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + req.days * DAY_MS),
    signingAlgorithm: ALG,
    keys: keys as never,
    extensions: leafExtensions(req),
  });
  return { keyPem: await keyPem(keys.privateKey), certPem: cert.toString('pem') };
}

/** A certificate authority (the vDC CA that signs the server's client certificates). */
export async function createCa(commonName: string, days: number): Promise<KeyAndCert> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: dn(commonName),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: ALG,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { keyPem: await keyPem(keys.privateKey), certPem: cert.toString('pem') };
}

/** A leaf certificate signed by `ca`. */
export async function issueCertificate(ca: KeyAndCert, req: CertificateRequest): Promise<KeyAndCert> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), ALG, false, [
    'sign',
  ]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn(req.commonName),
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + req.days * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions: leafExtensions(req),
  });
  return { keyPem: await keyPem(keys.privateKey), certPem: cert.toString('pem') };
}

/**
 * A leaf certificate signed by `ca` for the key of an existing certificate (`keyOwnerPem`): the
 * owner keeps its private key, which never travels (an agent's client certificate for its own key).
 */
export async function issueCertificateForKeyOf(
  ca: KeyAndCert,
  keyOwnerPem: string,
  req: CertificateRequest,
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), ALG, false, [
    'sign',
  ]);
  const publicKey = await new x509.X509Certificate(keyOwnerPem).publicKey.export(ALG, ['verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn(req.commonName),
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + req.days * DAY_MS),
    signingAlgorithm: ALG,
    publicKey: publicKey as never,
    signingKey: caKey as never,
    extensions: leafExtensions(req),
  });
  return cert.toString('pem');
}

/** SHA-256 fingerprint as upper-case hex pairs joined by colons (what browsers show). */
export function fingerprintOf(certPemOrDer: string | Buffer): string {
  return new X509Certificate(certPemOrDer).fingerprint256;
}

/** True when `cert` was issued and signed by `ca` and is valid now. */
export function isIssuedBy(cert: X509Certificate, ca: X509Certificate, now = new Date()): boolean {
  return (
    cert.checkIssued(ca) &&
    cert.verify(ca.publicKey) &&
    new Date(cert.validFrom) <= now &&
    now <= new Date(cert.validTo)
  );
}
