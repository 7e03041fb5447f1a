// mount.nfs4's failures (its stderr as printed by nfs-utils 2.6) become sentences naming the
// target and the cause an operator can act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors.js';
import { isNfsOutage, nfsMountFailure, nfsOutage } from './nfs-errors.js';

const t = { name: 'nas1', server: '10.0.2.50', exportPath: '/srv/backups' };

test('mount.nfs4 failures name the target and the cause', () => {
  const cases: [string, ErrorCode, RegExp][] = [
    ['mount.nfs4: Connection refused', ErrorCode.Unavailable, /server 10\.0\.2\.50 is unreachable/],
    ['mount.nfs4: No route to host', ErrorCode.Unavailable, /unreachable/],
    [
      'mount.nfs4: access denied by server while mounting 10.0.2.50:/srv/backups',
      ErrorCode.PermissionDenied,
      /refused the export \/srv\/backups/,
    ],
    [
      'mount.nfs4: mounting 10.0.2.50:/srv/backups failed, reason given by server: No such file or directory',
      ErrorCode.NotFound,
      /exports no \/srv\/backups/,
    ],
    [
      'mount.nfs4: Failed to resolve server nas: Name or service not known',
      ErrorCode.InvalidArgument,
      /does not resolve/,
    ],
    ["mount: /x: unknown filesystem type 'nfs4'.", ErrorCode.FailedPrecondition, /no NFS client/],
    ['mount.nfs4: Protocol not supported', ErrorCode.FailedPrecondition, /NFS version/],
    ['mount.nfs4: Operation not permitted', ErrorCode.PermissionDenied, /permission denied/],
  ];
  for (const [stderr, code, why] of cases) {
    const e = nfsMountFailure(t, stderr, false, 60_000);
    assert.equal(e.code, code, stderr);
    assert.match(e.message, /^NFS backup target nas1 \(10\.0\.2\.50:\/srv\/backups\) cannot be mounted: /);
    assert.match(e.message, why, stderr);
  }
  assert.match(nfsMountFailure(t, '', true, 60_000).message, /did not answer within 60 s/);
});

test('a soft mount’s I/O errors are an outage of the target', () => {
  const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  assert.equal(isNfsOutage(eio), true);
  assert.equal(isNfsOutage(Object.assign(new Error('x'), { code: 'ENOSPC' })), false);
  assert.match(nfsOutage(t, eio).message, /nas1 .* stopped answering .*EIO.*nothing unfinished is listed/);
});
