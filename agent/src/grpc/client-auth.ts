// Mutual TLS on one port: TLS asks every client for a certificate; this interceptor lets
// EnrollService/Join through without one and requires a certificate issued by the vDC CA
// for everything else. The CA can change at runtime (join, leave): calls already running under
// the old one (a host shell, a Watch stream) are ended then, not left open.
import { X509Certificate } from 'node:crypto';
import {
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { isIssuedBy } from '@quantix/proto/tls/certificates.js';
import { agentHostIdOf } from '../identity/agent-certificate.js';

export const OPEN_METHODS = new Set(['/quantix.agent.v1.EnrollService/Join']);
/** Ends by itself right after it changed the CA: it must get its answer out. */
const LEAVE_METHOD = '/quantix.agent.v1.HostService/Leave';
/** The only methods another agent of the vDC (an agent-role certificate) may call. */
export const AGENT_METHODS = new Set([
  '/quantix.agent.v1.MigrationService/Tunnel',
  '/quantix.agent.v1.BackupService/ReceiveBackup',
]);

export interface ClientAuth {
  interceptor: ServerInterceptor;
  /** Ends every call admitted under the previous CA (call after the CA changed). */
  revokeAll(details: string): void;
}

/**
 * `peer: 'local-socket'` for the private Unix socket (private-socket.ts): its file modes stand in for
 * the client certificate; the host must still be joined for anything but Join.
 */
export function clientCertificateAuth(
  getCa: () => X509Certificate | undefined,
  peer: 'certificate' | 'local-socket' = 'certificate',
): ClientAuth {
  const admitted = new Set<ServerInterceptingCallInterface>();
  const interceptor: ServerInterceptor = (method, call) =>
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
            if (peer === 'certificate' && (!raw || !isIssuedBy(new X509Certificate(raw), ca))) {
              return call.sendStatus({
                code: status.UNAUTHENTICATED,
                details: "a client certificate issued by this host's vDC CA is required",
              });
            }
            if (peer === 'certificate' && agentHostIdOf(new X509Certificate(raw!)) && !AGENT_METHODS.has(method.path)) {
              return call.sendStatus({
                code: status.PERMISSION_DENIED,
                details: "an agent's certificate may only open migration tunnels and send backups",
              });
            }
            if (method.path !== LEAVE_METHOD) admitted.add(call);
            mdNext(metadata);
          },
          onCancel: () => {
            admitted.delete(call);
          },
        });
      },
      sendStatus: (s, next) => {
        admitted.delete(call);
        next(s);
      },
    });
  return {
    interceptor,
    revokeAll(details) {
      const calls = [...admitted];
      admitted.clear();
      // sendStatus on the inner call ends the stream and tells the handler it was cancelled.
      for (const c of calls) c.sendStatus({ code: status.UNAUTHENTICATED, details });
    },
  };
}
