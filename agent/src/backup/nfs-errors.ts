// What went wrong with an NFS backup target, as a sentence naming the target and the cause:
// mount.nfs's stderr (unreachable server, refused export, permission, no NFS client) and the
// errors a soft mount returns when its server stops answering mid-operation. Pure.
import { nfsSource } from '@quantix/proto/names/nfs-target.js';
import { AgentError, ErrorCode } from '../errors.js';

interface Target {
  name: string;
  server: string;
  exportPath: string;
}

const label = (t: Target) => `NFS backup target ${t.name} (${nfsSource(t)})`;

/** The failure of `mount -t nfs4` (its stderr, or that it timed out) as an AgentError. */
export function nfsMountFailure(t: Target, stderr: string, timedOut: boolean, timeoutMs: number): AgentError {
  const text = stderr.trim();
  const fail = (code: ErrorCode, why: string) =>
    new AgentError(code, `${label(t)} cannot be mounted: ${why}${text ? ` (${text.split('\n').at(-1)})` : ''}`);
  if (timedOut) {
    return fail(
      ErrorCode.Unavailable,
      `server ${t.server} did not answer within ${timeoutMs / 1000} s; is it up and reachable from this host?`,
    );
  }
  if (/unknown filesystem type|No such device|mount\.nfs4?: not found|helper program/i.test(text)) {
    return fail(
      ErrorCode.FailedPrecondition,
      'this host has no NFS client (kernel nfs4 support and mount.nfs4 from nfs-common)',
    );
  }
  if (/Failed to resolve|Name or service not known|resolve server/i.test(text)) {
    return fail(ErrorCode.InvalidArgument, `server name ${t.server} does not resolve`);
  }
  if (
    /Connection refused|No route to host|Network is unreachable|timed out|Connection reset|Host is down/i.test(text)
  ) {
    return fail(ErrorCode.Unavailable, `server ${t.server} is unreachable (no NFS server answers on it)`);
  }
  if (/access denied by server/i.test(text)) {
    return fail(
      ErrorCode.PermissionDenied,
      `the server refused the export ${t.exportPath} to this host (check its exports: this host's address must be allowed)`,
    );
  }
  if (/reason given by server: No such file or directory|No such file or directory/i.test(text)) {
    return fail(ErrorCode.NotFound, `the server exports no ${t.exportPath}`);
  }
  if (/Protocol not supported|requested NFS version or transport protocol is not supported/i.test(text)) {
    return fail(ErrorCode.FailedPrecondition, 'the server does not speak this NFS version (try another version)');
  }
  if (/Permission denied|Operation not permitted/i.test(text)) {
    return fail(ErrorCode.PermissionDenied, 'permission denied');
  }
  return fail(ErrorCode.Unavailable, 'mount.nfs4 failed');
}

/** The export mounted but this host may not write into it (root squashed, read-only export). */
export function nfsNotWritable(t: Target, cause: unknown): AgentError {
  const code = (cause as { code?: string }).code ?? '';
  const why =
    code === 'EROFS'
      ? 'the export is read-only'
      : 'this host may not write into it (root is squashed: export it with no_root_squash, or all_squash with an anonuid that owns the directory)';
  return new AgentError(
    ErrorCode.PermissionDenied,
    `${label(t)} is mounted but ${why} (${code || String(cause)})`,
    undefined,
    { cause },
  );
}

/** True for what a soft NFS mount returns when its server stopped answering (or the export went away). */
export function isNfsOutage(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const text = err instanceof Error ? err.message : String(err);
  return (
    ['EIO', 'ETIMEDOUT', 'ESTALE', 'EREMOTEIO'].includes(code) ||
    /Input\/output error|Stale file handle|Remote I\/O error|Connection timed out/i.test(text)
  );
}

/** An operation on the target failed because its server stopped answering. */
export function nfsOutage(t: Target, cause: unknown): AgentError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AgentError(
    ErrorCode.Unavailable,
    `${label(t)} stopped answering during the operation (${detail}); nothing unfinished is listed as a backup; check the NFS server and retry`,
    undefined,
    { cause },
  );
}
