// E-mail notifications over SMTP with nodemailer (well kept, no dependencies of its own; it does
// STARTTLS, implicit TLS and AUTH, and takes connect/greeting/socket timeouts, so a dead or slow
// mail server costs at most those). Certificates are verified, against the admin's CA if given.
import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import type { EventDto } from '../dto/events.js';
import type { EmailRecord } from '../store/records.js';
import { HttpError } from '../errors.js';
import { validHostname } from './appliance-settings.js';

const CONNECT_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;
/** One address, no display name, no line breaks (nothing to smuggle headers with). */
const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/** Refuses settings an enabled mailer could not use, naming the field (email.host, email.to[1], …). */
export function validateEmail(e: Omit<EmailRecord, 'password'>): void {
  const bad = (field: string, problem: string) => new HttpError(400, `email.${field}: ${problem}`, `email.${field}`);
  if (e.host && !isIP(e.host) && !validHostname(e.host)) throw bad('host', `"${e.host}" is not a host name or address`);
  if (e.from && !ADDRESS.test(e.from)) throw bad('from', `"${e.from}" is not an e-mail address`);
  e.to.forEach((a, i) => {
    if (!ADDRESS.test(a)) throw bad(`to[${i}]`, `"${a}" is not an e-mail address`);
  });
  if (e.caCertificatePem && !e.caCertificatePem.includes('-----BEGIN CERTIFICATE-----'))
    throw bad('caCertificatePem', 'not a PEM certificate');
  if (!e.enabled) return;
  if (!e.host) throw bad('host', 'required to send e-mail');
  if (!e.from) throw bad('from', 'required to send e-mail');
  if (!e.to.length) throw bad('to', 'at least one recipient is required to send e-mail');
}

/** Sends `event` to the configured recipients; rejects with the server's or the network's reason. */
export async function sendEventEmail(e: EmailRecord, event: EventDto): Promise<void> {
  const transport = createTransport({
    host: e.host,
    port: e.port,
    secure: e.security === 'tls',
    requireTLS: e.security === 'starttls',
    ignoreTLS: e.security === 'none',
    auth: e.username ? { user: e.username, pass: e.password } : undefined,
    tls: e.caCertificatePem ? { ca: e.caCertificatePem } : {},
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const target = event.target.name ? `${event.target.type} ${event.target.name}` : event.target.type;
    await transport.sendMail({
      from: e.from,
      to: e.to,
      subject: `[Quantix] ${event.severity}: ${event.message}`.slice(0, 200),
      text: [
        event.message,
        '',
        `Kind:     ${event.kind}`,
        `Severity: ${event.severity}`,
        `When:     ${event.at}`,
        `Target:   ${target}${event.target.hostName ? ` on host ${event.target.hostName}` : ''}`,
        '',
        '-- Quantix-vDC (Notifications in the web UI choose what is sent here)',
      ].join('\n'),
      headers: { 'X-Quantix-Event': event.kind },
    });
  } finally {
    transport.close();
  }
}
