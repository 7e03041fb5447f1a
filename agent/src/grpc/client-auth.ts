// Mutual TLS on one port: TLS asks every client for a certificate; this interceptor lets
// EnrollService/Join through without one and requires a certificate issued by the vDC CA
// for everything else. The CA comes from the CaProvider and can change at runtime (join).
import { X509Certificate } from 'node:crypto';
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { isIssuedBy } from '@quantix/proto/tls/certificates.js';

export const OPEN_METHODS = new Set(['/quantix.agent.v1.EnrollService/Join']);

export function clientCertificateInterceptor(getCa: () => X509Certificate | undefined): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            if (OPEN_METHODS.has(method.path)) return mdNext(metadata);
            const ca = getCa();
            const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
            if (!ca) {
              return call.sendStatus({
                code: status.UNAUTHENTICATED,
                details: 'this host has not been joined to a vDC yet',
              });
            }
            if (!raw || !isIssuedBy(new X509Certificate(raw), ca)) {
              return call.sendStatus({
                code: status.UNAUTHENTICATED,
                details: "a client certificate issued by this host's vDC CA is required",
              });
            }
            mdNext(metadata);
          },
        });
      },
    });
}
