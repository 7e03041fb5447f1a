// A grpc-js CertificateProvider with values set in code: the agent's identity and the vDC CA,
// which a join replaces without restarting the server.
import type { experimental } from '@grpc/grpc-js';

type Provider = experimental.CertificateProvider;
type CaListener = Parameters<Provider['addCaCertificateListener']>[0];
type IdListener = Parameters<Provider['addIdentityCertificateListener']>[0];

export class StaticCertificateProvider implements Provider {
  private caListeners = new Set<CaListener>();
  private idListeners = new Set<IdListener>();

  constructor(
    private ca: Buffer | null,
    private readonly identity: { certificate: Buffer; privateKey: Buffer } | null,
  ) {}

  setCa(ca: Buffer): void {
    this.ca = ca;
    for (const l of this.caListeners) l({ caCertificate: ca });
  }

  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    // Asynchronously, as grpc-js registers its own watcher only after subscribing here.
    queueMicrotask(() => l(this.ca ? { caCertificate: this.ca } : null));
  }
  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }
  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    queueMicrotask(() => l(this.identity));
  }
  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }
}
