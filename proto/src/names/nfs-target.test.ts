// The NFS target rule: each bad field is named (options[i] for an option), and the mount options
// always carry soft with bounded timeouts and nosuid,nodev,noexec whatever the operator adds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nfsMountOptions, nfsSource, nfsTargetProblems, type NfsTargetInput } from './nfs-target.js';

const good: NfsTargetInput = {
  name: 'nas1',
  server: '10.0.2.50',
  exportPath: '/srv/backups',
  version: '4.2',
  options: [],
};
const fields = (t: Partial<NfsTargetInput>) => nfsTargetProblems({ ...good, ...t }).map((p) => p.field);

test('a valid NFS target has no problem; hosts, IPv4 and IPv6 servers are accepted', () => {
  assert.deepEqual(nfsTargetProblems(good), []);
  for (const server of ['nas.example.com', 'nas-1', '192.168.1.10', 'fd00::50'])
    assert.deepEqual(fields({ server }), [], server);
  assert.deepEqual(
    fields({ options: ['rsize=1048576', 'wsize=1048576', 'nconnect=4', 'noresvport', 'timeo=20', 'retrans=1'] }),
    [],
  );
});

test('each bad field is named', () => {
  assert.deepEqual(fields({ name: '../x' }), ['name']);
  for (const server of ['', 'nas;rm -rf /', 'a b', '-o', 'nas_1', 'a..b'])
    assert.deepEqual(fields({ server }), ['server'], server);
  for (const exportPath of ['srv/x', '/srv/../etc', '/srv/a b', '/srv,vers=3', '/x:y', ''])
    assert.deepEqual(fields({ exportPath }), ['exportPath'], exportPath);
  for (const version of ['3', '4.3', '', 'v4']) assert.deepEqual(fields({ version }), ['version'], version);
});

test('options outside the allow-list, out of range or repeated are refused naming options[i]', () => {
  const bad = [
    'hard',
    'exec',
    'suid',
    'rsize=1',
    'timeo=6000',
    'retrans=50',
    'sec=krb5',
    'proto=udp',
    'noac=1',
    'vers=3',
    'rsize=1,hard',
  ];
  for (const o of bad) assert.deepEqual(fields({ options: ['nocto', o] }), ['options[1]'], o);
  assert.deepEqual(fields({ options: ['rsize=65536', 'rsize=131072'] }), ['options[1]']);
  const [p] = nfsTargetProblems({ ...good, options: ['hard'] });
  assert.match(p!.message, /not an allowed option.*rsize=/);
  assert.deepEqual(fields({ options: Array.from({ length: 13 }, () => 'nocto') }).at(0), 'options');
});

test('mount options: soft, bounded timeouts, no retry, nosuid,nodev,noexec; the operator may shorten the timeouts', () => {
  assert.equal(nfsMountOptions(good), 'vers=4.2,soft,retry=0,nosuid,nodev,noexec,timeo=100,retrans=2');
  assert.equal(
    nfsMountOptions({ version: '4', options: ['timeo=20', 'retrans=1', 'rsize=65536'] }),
    'vers=4,soft,retry=0,nosuid,nodev,noexec,timeo=20,retrans=1,rsize=65536',
  );
  assert.equal(nfsSource(good), '10.0.2.50:/srv/backups');
  assert.equal(nfsSource({ server: 'fd00::50', exportPath: '/b' }), '[fd00::50]:/b');
});
