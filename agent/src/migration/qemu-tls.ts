// QEMU's own TLS for migration streams (memory and NBD disks go QEMU to QEMU, no relay): the files
// libvirt hands QEMU from its default_tls_x509_cert_dir — the vDC CA, and this host's vDC migration
// certificate (server and client role, DNS SAN migrationTlsName) with the agent's own key.
import { X509Certificate } from 'node:crypto';
import { chown, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import type { AgentContext } from '../context.js';
import { failedPrecondition } from '../errors.js';
import { readAgentCertificate } from '../identity/agent-certificate.js';
import { qemuOwner } from './migration-paths.js';

/** libvirt's default_tls_x509_cert_dir (qemu.conf), which migrate and NBD TLS fall back to. */
export const QEMU_TLS_DIR = '/etc/pki/qemu';

/**
 * Writes the CA, certificate and key QEMU reads for a TLS migration (either end), when they
 * differ from what is there. The certificate must name this host for QEMU's peer to accept it.
 */
export async function writeQemuTlsFiles(ctx: AgentContext, dir = QEMU_TLS_DIR): Promise<void> {
  const caPem = ctx.membership.caCertificatePem;
  const certPem = await readAgentCertificate(ctx.config.dataDir);
  if (!caPem || !certPem) throw failedPrecondition('this host has no vDC migration certificate yet');
  const name = migrationTlsName(ctx.identity.hostId);
  if (!(new X509Certificate(certPem).subjectAltName ?? '').includes(`DNS:${name}`))
    throw failedPrecondition(`this host's vDC certificate does not name ${name}: QEMU's TLS would refuse it`);
  const qemu = await qemuOwner();
  // Every directory on the way must let QEMU's user through (mkdir's mode applies to each one made).
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const files: [string, string, boolean][] = [
    ['ca-cert.pem', caPem, false],
    ['server-cert.pem', certPem, false],
    ['client-cert.pem', certPem, false],
    // QEMU runs as its own user: the key belongs to that user alone.
    ['server-key.pem', ctx.identity.keyPem, true],
    ['client-key.pem', ctx.identity.keyPem, true],
  ];
  for (const [file, text, secret] of files) {
    const path = join(dir, file);
    const want = `${text.trim()}\n`;
    if ((await readFile(path, 'utf8').catch(() => '')) === want) continue;
    await writeFileAtomic(path, want, secret ? 0o600 : 0o644);
    if (secret) await chown(path, qemu.uid, qemu.gid);
  }
}
