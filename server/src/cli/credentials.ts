// What `qx login` learned, kept for the next commands: the server's URL, its certificate as
// pinned at login and an API token, in a file only its user can read. QX_SERVER, QX_TOKEN and
// QX_CA_FILE take their place for scripts and CI (nothing written then).
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';

export interface Credentials {
  /** https://host[:port] */
  server: string;
  /** An API token secret (Authorization: Bearer). */
  token: string;
  /** The server certificate accepted at login (PEM); absent = the system's CAs vouch for it. */
  certificatePem?: string;
}

type Env = Record<string, string | undefined>;

export function credentialsFile(env: Env = process.env): string {
  return env.QX_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'quantix', 'qx.json');
}

export async function loadCredentials(env: Env = process.env): Promise<Credentials> {
  if (env.QX_SERVER && env.QX_TOKEN) {
    const certificatePem = env.QX_CA_FILE ? await readFile(env.QX_CA_FILE, 'utf8') : undefined;
    return { server: normaliseServer(env.QX_SERVER), token: env.QX_TOKEN, certificatePem };
  }
  const file = credentialsFile(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('not logged in: run `qx login https://<appliance>` (or set QX_SERVER and QX_TOKEN)', {
        cause: err,
      });
    }
    throw err;
  }
  const c = JSON.parse(text) as Partial<Credentials>;
  if (typeof c.server !== 'string' || typeof c.token !== 'string') {
    throw new Error(`${file} is not a qx login file: run \`qx login\` again`);
  }
  return { server: c.server, token: c.token, certificatePem: c.certificatePem };
}

export async function saveCredentials(c: Credentials, env: Env = process.env): Promise<string> {
  const file = credentialsFile(env);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(c, null, 2) + '\n', 0o600);
  return file;
}

export async function removeCredentials(env: Env = process.env): Promise<void> {
  await rm(credentialsFile(env), { force: true });
}

/** "appliance", "appliance:8443" or "https://appliance/" → "https://appliance[:port]". */
export function normaliseServer(raw: string): string {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`);
  if (url.protocol !== 'https:') throw new Error(`the server must be reached over https, got "${raw}"`);
  return url.origin;
}
