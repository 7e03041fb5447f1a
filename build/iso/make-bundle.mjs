#!/usr/bin/env node
// Writes a signed update bundle: an uncompressed ustar holding manifest.json (product, version,
// build, each part's name, size and sha256), manifest.sig (Ed25519 over manifest.json) and the
// parts in manifest order. Verified by proto/src/appliance/update-bundle.ts (the server's and the agent's).
// Usage: make-bundle.mjs --key KEY.pem --version V [--build B] [--product P] --out OUT PART...
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: {
    key: { type: 'string' },
    version: { type: 'string' },
    build: { type: 'string', default: 'unknown' },
    product: { type: 'string', default: 'quantix-vdc' },
    out: { type: 'string' },
  },
  allowPositionals: true,
});
if (!values.key || !values.version || !values.out || positionals.length === 0) {
  console.error('usage: make-bundle.mjs --key KEY.pem --version V [--build B] --out OUT PART...');
  process.exit(2);
}

async function sha256(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

const parts = [];
for (const file of positionals) {
  parts.push({ name: basename(file), size: statSync(file).size, sha256: await sha256(file) });
}
const manifest = Buffer.from(
  `${JSON.stringify({ product: values.product, format: 1, version: values.version, build: values.build, parts }, null, 2)}\n`,
);
const key = createPrivateKey(execFileSync('cat', [values.key]));
const work = mkdtempSync(join(tmpdir(), 'qx-bundle-'));
try {
  writeFileSync(join(work, 'manifest.json'), manifest);
  writeFileSync(join(work, 'manifest.sig'), sign(null, manifest, key));
  for (const file of positionals) symlinkSync(resolve(file), join(work, basename(file)));
  const out = resolve(values.out);
  // ustar, root-owned, fixed mtime; -h stores the parts' contents, not the links.
  execFileSync('tar', [
    '--format=ustar',
    '-h',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '--mode=0644',
    '-cf',
    `${out}.tmp`,
    '-C',
    work,
    'manifest.json',
    'manifest.sig',
    ...parts.map((p) => p.name),
  ]);
  renameSync(`${out}.tmp`, out);
} finally {
  rmSync(work, { recursive: true, force: true });
}
