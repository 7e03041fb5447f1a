// Version order (semver-like) and the update rule built on it; the build's version read from the
// root package.json, so a version bump there is what the agent reports and the server holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_VERSION, readBuildVersion } from './build-version.js';
import { compareVersions, parseVersion, updateRefusal } from './version.js';

const order = (a: string, b: string) => Math.sign(compareVersions(parseVersion(a)!, parseVersion(b)!));

test('versions: numeric parts, a pre-release before its release, build metadata ignored', () => {
  assert.deepEqual(parseVersion('1.10.2-rc.1+abc'), { major: 1, minor: 10, patch: 2, pre: ['rc', '1'] });
  for (const bad of ['', '1.2', '1.2.3.4', 'v1.2.3', '01.2.3', '1.2.x', 'baseline', '1.2.3-'])
    assert.equal(parseVersion(bad), undefined, bad);
  assert.equal(order('1.10.0', '1.9.9'), 1, 'numerically, not as text');
  assert.equal(order('0.1.0', '99.0.0-next'), -1);
  assert.equal(order('99.0.0-next', '99.0.1-broken'), -1);
  assert.equal(order('1.0.0-rc.1', '1.0.0'), -1, 'a pre-release sorts before its release');
  assert.equal(order('1.0.0-rc.2', '1.0.0-rc.10'), -1, 'numeric identifiers numerically');
  assert.equal(order('1.0.0-alpha', '1.0.0-alpha.1'), -1, 'more identifiers win a tie');
  assert.equal(order('1.0.0-1', '1.0.0-alpha'), -1, 'numbers before words');
  assert.equal(order('1.0.0+a', '1.0.0+b'), 0);
});

test('update rule: an upgrade goes; the same version and a downgrade are refused naming both', () => {
  assert.equal(updateRefusal('host h1', '0.1.0', '99.0.0-next'), undefined);
  assert.equal(updateRefusal('host h1', '99.0.0-next', '99.0.1-broken'), undefined);
  assert.equal(updateRefusal('host h1', '1.0.0', '1.0.0'), 'host h1 already runs 1.0.0');
  assert.equal(updateRefusal('host h1', '1.0.0', '1.0.0', true), 'host h1 already runs 1.0.0');
  assert.equal(
    updateRefusal('host h1', '1.1.0', '1.0.0'),
    "the bundle's version 1.0.0 is older than 1.1.0, which host h1 runs: a downgrade needs allowDowngrade",
  );
  assert.match(updateRefusal('host h1', '1.0.0', '1.0.0-rc.1')!, /older than 1\.0\.0/);
  assert.equal(updateRefusal('host h1', '1.1.0', '1.0.0', true), undefined, 'allowed downgrade');
  assert.match(updateRefusal('host h1', '1.0.0', 'latest', true)!, /"latest": not a version/);
  assert.match(updateRefusal('host h1', 'dev', '1.0.0', true)!, /runs "dev", not a version/);
});

test("build version: the nearest quantix-vdc package.json's, which a bump changes", async (t) => {
  const root = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(BUILD_VERSION, root.version);
  const dir = await mkdtemp(join(tmpdir(), 'qxt-build-version-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'proto/dist/src/appliance'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'quantix-vdc', version: '2.3.4' }));
  await writeFile(join(dir, 'proto/package.json'), JSON.stringify({ name: '@quantix/proto', version: '0.1.0' }));
  assert.equal(readBuildVersion(join(dir, 'proto/dist/src/appliance')), '2.3.4', "the product's, not the workspace's");
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'other' }));
  assert.throws(() => readBuildVersion(join(dir, 'proto')), /no package\.json of quantix-vdc at or above/);
});
