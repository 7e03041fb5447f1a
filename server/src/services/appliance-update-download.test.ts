// Update bundles fetched from a URL (#25) by a real server from real local HTTP and HTTPS servers:
// progress shown while it arrives, verified and kept as an upload is; refused URLs and redirects,
// a forged bundle, a size cap, a stall and a cancel each leave the bundle there before; admin only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createCa, issueCertificate } from '@quantix/proto/tls/certificates.js';
import type { ApplianceUpdateDto } from '../dto/appliance-update.js';
import { startTestServer } from '../test-support/test-server.js';
import type { TestServer } from '../test-support/test-server.js';
import { DownloadError, downloadTo } from './appliance-update-download.js';

const makeBundle = resolve(import.meta.dirname, '../../../build/iso/make-bundle.mjs');

function pem() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('qxt-srv appliance update from a URL: progress, verified and kept; bad URLs, redirects and bundles refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-upd-url-'));
  const key = pem();
  await writeFile(join(dir, 'key.pem'), key.publicPem);
  const parts = join(dir, 'parts');
  await mkdir(parts);
  // A layer big enough to arrive in many chunks (progress is seen between them).
  await writeFile(join(parts, '00-base.squashfs'), Buffer.alloc(4 * 2 ** 20, 7));
  for (const name of ['vmlinuz', 'initrd.img', 'filesystem.module']) await writeFile(join(parts, name), name);
  const bundle = async (name: string, privatePem: string, version: string) => {
    await writeFile(join(dir, `${name}.pem`), privatePem);
    const out = join(dir, `${name}.qxu`);
    const files = ['vmlinuz', 'initrd.img', '00-base.squashfs', 'filesystem.module'].map((n) => join(parts, n));
    const args = [makeBundle, '--key', join(dir, `${name}.pem`), '--version', version, '--out', out, ...files];
    await promisify(execFile)(process.execPath, args);
    return readFile(out);
  };
  const good = await bundle('good', key.privatePem, '2.0.0');
  const forged = await bundle('forged', pem().privatePem, '2.0.1');

  // The HTTPS mirror has a certificate from its own CA, given with the request.
  const ca = await createCa('qxt mirror CA', 1);
  const leaf = await issueCertificate(ca, {
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const slow: { release?: () => void } = {};
  const routes: Record<string, Handler> = {
    // Half the bundle, then the rest once the test has seen the progress.
    '/slow.qxu': (_req, res) => {
      res.writeHead(200, { 'Content-Length': good.length });
      res.write(good.subarray(0, good.length / 2));
      slow.release = () => res.end(good.subarray(good.length / 2));
    },
    '/forged.qxu': (_req, res) => res.writeHead(200, { 'Content-Length': forged.length }).end(forged),
    '/missing.qxu': (_req, res) => res.writeHead(404).end('secret internal page'),
    '/to-http': (_req, res) => res.writeHead(302, { Location: `http://127.0.0.1:${httpPort}/good.qxu` }).end(),
    '/to-file': (_req, res) => res.writeHead(301, { Location: 'file:///etc/shadow' }).end(),
    '/stall.qxu': (_req, res) => {
      res.writeHead(200, { 'Content-Length': good.length });
      res.write(good.subarray(0, 1000));
    },
  };
  const handle: Handler = (req, res) => {
    // By path: the query string (a token in the URL) must not bypass the route.
    const route = routes[new URL(req.url ?? '/', 'http://mirror').pathname];
    if (route) route(req, res);
    else res.writeHead(200, { 'Content-Length': good.length }).end(good); // /good.qxu
  };
  const https = createHttpsServer({ key: leaf.keyPem, cert: leaf.certPem }, handle);
  const http = createHttpServer(handle);
  const httpsPort = await listen(https);
  const httpPort = await listen(http);
  const updateDir = join(dir, 'update');
  const s: TestServer = await startTestServer({ QX_UPDATE_DIR: updateDir, QX_UPDATE_KEY: join(dir, 'key.pem') });
  t.after(async () => {
    await s.stop();
    for (const server of [https, http]) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await rm(dir, { recursive: true, force: true });
  });
  const status = async () => (await s.admin.request<ApplianceUpdateDto>('GET', '/api/v1/appliance/update')).json;
  const fetchUrl = (url: string, extra: Record<string, string> = {}) =>
    s.admin.request<ApplianceUpdateDto>('POST', '/api/v1/appliance/update/download', { body: { url, ...extra } });
  const caPem = { caCertificatePem: ca.certPem };
  const ended = (what: string) =>
    eventually(what, async () => {
      const st = await status();
      return st.download?.state === 'downloading' || st.download?.state === 'verifying' ? undefined : st;
    });

  // Admin only; the URL must be http(s) without credentials.
  const operator = await s.userWithRole('operator');
  const byOperator = await operator.request('POST', '/api/v1/appliance/update/download', {
    body: { url: `http://127.0.0.1:${httpPort}/good.qxu` },
  });
  assert.equal(byOperator.status, 403);
  for (const [url, why] of [
    ['file:///etc/passwd', /only http and https/],
    ['ftp://127.0.0.1/x.qxu', /only http and https/],
    [`http://user:pw@127.0.0.1:${httpPort}/good.qxu`, /user name or password/],
    ['mirror/quantix.qxu', /not an absolute URL/],
  ] as const) {
    const r = await fetchUrl(url);
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.match(r.text, why);
    assert.match(r.text, /"url"/, 'the field is named');
  }
  const badCa = await fetchUrl(`https://127.0.0.1:${httpsPort}/good.qxu`, { caCertificatePem: 'not a pem' });
  assert.equal(badCa.status, 400, badCa.text);
  assert.match(badCa.text, /caCertificatePem/);

  // Over HTTPS with the mirror's CA: progress while it arrives, then verified and kept.
  const started = await fetchUrl(`https://127.0.0.1:${httpsPort}/slow.qxu?token=s3cret`, caPem);
  assert.equal(started.status, 202, started.text);
  assert.equal(started.json.download?.url, `https://127.0.0.1:${httpsPort}/slow.qxu`, 'no query string shown');
  const halfway = await eventually('half the bundle received', async () => {
    const d = (await status()).download;
    return d && d.receivedBytes >= good.length / 2 ? d : undefined;
  });
  assert.equal(halfway.state, 'downloading');
  assert.equal(halfway.totalBytes, good.length);
  const second = await fetchUrl(`http://127.0.0.1:${httpPort}/good.qxu`);
  assert.equal(second.status, 409, 'one download at a time');
  assert.ok(slow.release, 'the slow route served the download');
  slow.release();
  const kept = await ended('the download verified');
  assert.equal(kept.download, undefined, JSON.stringify(kept.download));
  assert.equal(kept.bundle?.version, '2.0.0');
  assert.equal(kept.bundle?.sizeBytes, good.length);
  assert.deepEqual((await readdir(updateDir)).sort(), ['bundle.json', 'bundle.qxu']);

  // Each refusal names why and leaves the bundle kept before.
  const refusals: [string, Record<string, string>, RegExp][] = [
    [`https://127.0.0.1:${httpsPort}/good.qxu`, {}, /certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
    [`https://127.0.0.1:${httpsPort}/to-http`, caPem, /redirect refused: from https down to http/],
    [`http://127.0.0.1:${httpPort}/to-file`, {}, /redirect refused: only http and https URLs are fetched, not file/],
    [`http://127.0.0.1:${httpPort}/missing.qxu`, {}, /answered 404/],
    [`http://127.0.0.1:${httpPort}/forged.qxu`, {}, /bad signature/],
  ];
  for (const [url, extra, why] of refusals) {
    const r = await fetchUrl(url, extra);
    assert.equal(r.status, 202, r.text);
    const st = await ended(url);
    assert.equal(st.download?.state, 'failed', `${url}: ${JSON.stringify(st.download)}`);
    assert.match(st.download?.error ?? '', why, url);
    assert.doesNotMatch(st.download?.error ?? '', /secret internal page/, 'no response contents shown');
    assert.equal(st.bundle?.version, '2.0.0', `${url} left the bundle before it`);
    assert.deepEqual((await readdir(updateDir)).sort(), ['bundle.json', 'bundle.qxu']);
  }

  // A download that stalls is cancelled by the admin: nothing kept, then cleared from the status.
  assert.equal((await fetchUrl(`http://127.0.0.1:${httpPort}/stall.qxu`)).status, 202);
  await eventually('the stalled download started', async () =>
    (await status()).download?.receivedBytes ? true : undefined,
  );
  const cancelled = await s.admin.request<ApplianceUpdateDto>('DELETE', '/api/v1/appliance/update/download');
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.download?.state, 'failed');
  assert.equal(cancelled.json.download?.error, 'cancelled');
  assert.equal(cancelled.json.bundle?.version, '2.0.0');
  const cleared = await s.admin.request<ApplianceUpdateDto>('DELETE', '/api/v1/appliance/update/download');
  assert.equal(cleared.json.download, undefined);
  assert.deepEqual((await readdir(updateDir)).sort(), ['bundle.json', 'bundle.qxu']);

  // The bounds themselves: a size cap (on Content-Length and on the bytes) and a stall timeout.
  const capped = downloadTo(
    new URL(`http://127.0.0.1:${httpPort}/good.qxu`),
    join(dir, 'capped'),
    { maxBytes: 1000, stallMs: 30_000, totalMs: 60_000 },
    () => undefined,
  );
  await assert.rejects(
    capped,
    (e: Error) => e instanceof DownloadError && /more than the 1000 allowed/.test(e.message),
  );
  const stalled = downloadTo(
    new URL(`http://127.0.0.1:${httpPort}/stall.qxu`),
    join(dir, 'stalled'),
    { maxBytes: good.length, stallMs: 300, totalMs: 60_000 },
    () => undefined,
  );
  await assert.rejects(stalled, (e: Error) => e instanceof DownloadError && /sent nothing for 0.3 s/.test(e.message));
});
