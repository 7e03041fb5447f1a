// E-mail notifications against real SMTP servers on loopback (smtp-server, in this process), with
// TLS: STARTTLS on one, implicit TLS on the other, both authenticated. "Send test" and a recorded
// event arrive as mail; the password is never sent back and is kept when a save omits it; a server
// certificate not signed by the configured CA is refused; bad addresses are refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import type { NotificationsDto, TestNotificationResultDto } from '../dto/events.js';
import type { ErrorDto } from '../dto/common.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually } from '../test-support/guest-pool.js';

interface Mail {
  from: string;
  to: string[];
  user: string;
  secure: boolean;
  body: string;
}

async function startSmtp(secure: boolean, tls: { key: string; cert: string }) {
  const mails: Mail[] = [];
  const opts: SMTPServerOptions = {
    secure,
    key: tls.key,
    cert: tls.cert,
    logger: false,
    // STARTTLS is offered and required before AUTH (no plain-text passwords).
    allowInsecureAuth: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'qx-mailer' && auth.password === 'qxt-smtp-secret') cb(null, { user: auth.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      let body = '';
      stream.on('data', (d: Buffer) => (body += d.toString('utf8')));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: String(session.user ?? ''),
          secure: session.secure,
          body,
        });
        cb();
      });
    },
  };
  const server = new SMTPServer(opts);
  // A client that refuses the certificate closes the handshake: an error of that connection only.
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('qxt-srv e-mail notifications: STARTTLS and TLS with auth, test and event mails, secrets kept', async (t) => {
  const tls = await createSelfSigned({
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const starttls = await startSmtp(false, { key: tls.keyPem, cert: tls.certPem });
  const implicit = await startSmtp(true, { key: tls.keyPem, cert: tls.certPem });
  const s = await startTestServer();
  t.after(async () => {
    await s.stop();
    await starttls.close();
    await implicit.close();
  });
  const api = s.admin;
  const email = {
    enabled: true,
    host: '127.0.0.1',
    port: starttls.port,
    security: 'starttls',
    username: 'qx-mailer',
    password: 'qxt-smtp-secret',
    from: 'vdc@example.org',
    to: ['ops@example.org', 'oncall@example.org'],
    kinds: [],
    minSeverity: 'warning',
    caCertificatePem: tls.certPem,
  };
  const put = await api.request<NotificationsDto>('PUT', '/api/v1/notifications', { body: { webhooks: [], email } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.email.hasPassword, true);
  assert.ok(!put.text.includes('qxt-smtp-secret'), 'the password is not sent back');
  assert.ok(!(await api.request('GET', '/api/v1/notifications')).text.includes('qxt-smtp-secret'));

  // Send test: delivered over STARTTLS, authenticated, to both recipients.
  const tested = await api.request<TestNotificationResultDto>('POST', '/api/v1/notifications/test');
  assert.equal(tested.status, 200, tested.text);
  assert.deepEqual(tested.json.email, { ok: true, error: '' });
  const first = starttls.mails[0]!;
  assert.deepEqual(first.to, ['ops@example.org', 'oncall@example.org']);
  assert.equal(first.from, 'vdc@example.org');
  assert.equal(first.user, 'qx-mailer');
  assert.equal(first.secure, true, 'upgraded with STARTTLS');
  assert.match(first.body, /Subject: \[Quantix\] info: A test notification from Quantix-vDC/);

  // A recorded event of the chosen severity is mailed; one below it is not.
  await s.services.eventLog.record({
    severity: 'info',
    kind: 'vm.state',
    target: { type: 'vm', id: 'v0', name: 'quiet-vm' },
    message: 'VM quiet-vm is now running',
  });
  await s.services.eventLog.record({
    severity: 'error',
    kind: 'vm.crashed',
    target: { type: 'vm', id: 'v1', name: 'mail-vm', hostName: 'h1' },
    message: 'VM mail-vm on h1 crashed (it was running)',
  });
  const crash = await eventually('the crash mail', async () => starttls.mails.find((m) => m.body.includes('mail-vm')));
  assert.match(crash.body, /Subject: \[Quantix\] error: VM mail-vm on h1 crashed/);
  assert.match(crash.body, /X-Quantix-Event: vm\.crashed/);
  assert.ok(!starttls.mails.some((m) => m.body.includes('quiet-vm')), 'below the minimum severity');

  // Implicit TLS; saved without a password: the stored one is kept and still authenticates.
  const { password: _kept, ...withoutPassword } = email;
  const tlsPut = await api.request<NotificationsDto>('PUT', '/api/v1/notifications', {
    body: { webhooks: [], email: { ...withoutPassword, port: implicit.port, security: 'tls' } },
  });
  assert.equal(tlsPut.status, 200, tlsPut.text);
  assert.equal(tlsPut.json.email.hasPassword, true);
  const viaTls = await api.request<TestNotificationResultDto>('POST', '/api/v1/notifications/test');
  assert.deepEqual(viaTls.json.email, { ok: true, error: '' });
  assert.equal(implicit.mails[0]?.secure, true);
  assert.equal(implicit.mails[0]?.user, 'qx-mailer');

  // Without the CA the self-signed server certificate is refused, and the reason shown.
  await api.request('PUT', '/api/v1/notifications', {
    body: { webhooks: [], email: { ...withoutPassword, port: implicit.port, security: 'tls', caCertificatePem: '' } },
  });
  const untrusted = await api.request<TestNotificationResultDto>('POST', '/api/v1/notifications/test');
  assert.equal(untrusted.json.email?.ok, false);
  assert.match(untrusted.json.email?.error ?? '', /certificate/i);
  assert.equal(implicit.mails.length, 1, 'nothing sent to an unverified server');

  // Bad settings are refused naming the field.
  for (const [patch, field] of [
    [{ to: ['ops@example.org', 'not an address'] }, 'email.to[1]'],
    [{ from: 'vdc@example.org\r\nBcc: x@example.org' }, 'email.from'],
    [{ host: 'bad host' }, 'email.host'],
    [{ to: [] }, 'email.to'],
  ] as const) {
    const r = await api.request<ErrorDto>('PUT', '/api/v1/notifications', {
      body: { webhooks: [], email: { ...email, ...patch } },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.field, field, r.text);
  }
  const viewer = await s.userWithRole('viewer');
  assert.equal((await viewer.request('PUT', '/api/v1/notifications', { body: { webhooks: [], email } })).status, 403);
});
