// The certificate a server presents, read before anything is sent to it: `qx login` shows its
// fingerprint (the one the appliance's console and Settings page show) and pins it.
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

export interface PresentedCertificate {
  /** SHA-256, upper-case hex pairs with colons (as the UI shows it). */
  fingerprint: string;
  /** The root of the presented chain (the leaf when self-signed): what gets pinned. */
  anchorPem: string;
  /** Its fingerprint: stays when the appliance issues itself a new leaf (its addresses changed). */
  anchorFingerprint: string;
  /** The system's CAs vouch for it (then nothing needs pinning). */
  trustedBySystem: boolean;
}

export function readPresentedCertificate(server: string, timeoutMs = 15_000): Promise<PresentedCertificate> {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: false,
    });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no TLS answer from ${server} within ${timeoutMs / 1000} s`)),
    );
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerCertificate(true);
      socket.end();
      if (!leaf?.raw) return reject(new Error(`${server} presented no certificate`));
      let anchor: DetailedPeerCertificate = leaf;
      while (anchor.issuerCertificate && anchor.issuerCertificate !== anchor && anchor.issuerCertificate.raw) {
        anchor = anchor.issuerCertificate;
      }
      resolve({
        fingerprint: new X509Certificate(leaf.raw).fingerprint256,
        anchorPem: new X509Certificate(anchor.raw).toString(),
        anchorFingerprint: new X509Certificate(anchor.raw).fingerprint256,
        trustedBySystem: socket.authorized,
      });
    });
  });
}

/** Fingerprints compare without case, colons or spaces. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[^0-9a-f]/gi, '').toLowerCase();
  return norm(a).length === 64 && norm(a) === norm(b);
}
