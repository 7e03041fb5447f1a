// `qx login SERVER` and `qx logout`: checks the server's certificate (fingerprint given, or asked
// on a terminal; the system's CAs otherwise), then keeps an API token: the one given, or a new one
// made with the user's password (the password itself is never stored).
import { hostname } from 'node:os';
import { request } from 'node:https';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import type { CreatedTokenDto } from '../dto/users.js';
import type { SessionDto } from '../dto/auth.js';
import { ApiConnection } from './api-connection.js';
import {
  loadCredentials,
  normaliseServer,
  removeCredentials,
  saveCredentials,
  type Credentials,
} from './credentials.js';
import { readPresentedCertificate, sameFingerprint } from './server-certificate.js';
import { readSecret } from './terminal.js';
import type { Output } from './output.js';

export async function loginCommand(argv: string[], out: Output): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      token: { type: 'string' },
      user: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      fingerprint: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new Error('usage: qx login https://<appliance> [--token T | --user NAME]');
  if (!values.token && !values.user) throw new Error('give --token SECRET (an API token) or --user NAME');
  const server = normaliseServer(positionals[0]!);
  const presented = await readPresentedCertificate(server);
  let certificatePem: string | undefined;
  if (values.fingerprint !== undefined) {
    // The leaf's, or its CA's (the appliance's HTTPS CA, which outlives leaves reissued when the
    // appliance's addresses change). The chain is not verified here, but the anchor pinned now is
    // on every later connection, before any secret is sent: a forged chain fails there.
    const given = values.fingerprint;
    if (!sameFingerprint(given, presented.fingerprint) && !sameFingerprint(given, presented.anchorFingerprint)) {
      throw new Error(
        `${server} presented the certificate ${presented.fingerprint}, not the one given (--fingerprint)`,
      );
    }
    certificatePem = presented.anchorPem;
  } else if (!presented.trustedBySystem) {
    if (!process.stdin.isTTY) {
      throw new Error(
        `${server}'s certificate is not signed by a CA this machine trusts; its fingerprint is ${presented.fingerprint}: ` +
          'compare it with the one on the appliance console or its Settings page and pass it as --fingerprint',
      );
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(
      `The certificate of ${server} has the SHA-256 fingerprint\n  ${presented.fingerprint}\n` +
        'Is it the one shown on the appliance console or its Settings page? [y/N] ',
    );
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) throw new Error('login cancelled: the certificate was not accepted');
    certificatePem = presented.anchorPem;
  }

  const token =
    values.token ?? (await tokenFromPassword(server, certificatePem, values.user!, values['password-stdin']));
  const creds: Credentials = { server, token, certificatePem };
  const { user: me } = await new ApiConnection(creds).json<SessionDto>('GET', '/api/v1/auth/me');
  const file = await saveCredentials(creds);
  out.result({ server, user: me.username, role: me.role, fingerprint: presented.fingerprint, savedTo: file }, () =>
    out.line(`Logged in to ${server} as ${me.username} (${me.role}); credentials in ${file}`),
  );
}

export async function logoutCommand(argv: string[], out: Output): Promise<void> {
  parseArgs({ args: argv, options: {} });
  await loadCredentials().then(
    async (creds) => {
      // The token made by `qx login --user` is revoked with the login; a token given by hand stays.
      const conn = new ApiConnection(creds);
      const tokens = await conn.json<{ id: string; name: string }[]>('GET', '/api/v1/tokens').catch(() => []);
      const mine = tokens.find((t) => t.name === loginTokenName());
      if (mine) await conn.json('DELETE', `/api/v1/tokens/${encodeURIComponent(mine.id)}`).catch(() => undefined);
    },
    () => undefined,
  );
  await removeCredentials();
  out.result({ loggedOut: true }, () => out.line('Logged out'));
}

function loginTokenName(): string {
  return `qx@${hostname()}`.slice(0, 64);
}

/** Signs in with the password, makes an API token for this machine, signs out again. */
async function tokenFromPassword(
  server: string,
  certificatePem: string | undefined,
  username: string,
  fromStdin: boolean | undefined,
): Promise<string> {
  const password = fromStdin
    ? (await readAll(process.stdin)).replace(/\r?\n$/, '')
    : await readSecret(`Password for ${username}: `);
  const login = await sessionRequest<SessionDto>(server, certificatePem, 'POST', '/api/v1/auth/login', {
    username,
    password,
  });
  const session = { cookie: login.cookie, csrf: login.body.csrfToken };
  try {
    const created = await sessionRequest<CreatedTokenDto>(
      server,
      certificatePem,
      'POST',
      '/api/v1/tokens',
      { name: loginTokenName(), expiresInDays: 90 },
      session,
    );
    return created.body.secret;
  } finally {
    await sessionRequest(server, certificatePem, 'POST', '/api/v1/auth/logout', undefined, session).catch(
      () => undefined,
    );
  }
}

/** The few cookie-session calls of a password login (everything else uses the token). */
function sessionRequest<T>(
  server: string,
  ca: string | undefined,
  method: string,
  path: string,
  body: unknown,
  session?: { cookie: string; csrf: string },
): Promise<{ body: T; cookie: string }> {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(payload.length),
  };
  if (session) {
    headers.Cookie = session.cookie;
    headers['X-CSRF-Token'] = session.csrf;
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { method, headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: T & { error?: { message: string } };
        try {
          json = (text ? JSON.parse(text) : {}) as T & { error?: { message: string } };
        } catch {
          return reject(
            new Error(`${server} answered ${method} ${path} with something other than JSON (HTTP ${res.statusCode})`),
          );
        }
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(json.error?.message ?? `HTTP ${res.statusCode}`));
        resolve({ body: json, cookie: res.headers['set-cookie']?.[0]?.split(';')[0] ?? session?.cookie ?? '' });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${server} within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    if (text.length > 4096) throw new Error('the password on stdin is longer than 4096 characters');
  }
  return text;
}
