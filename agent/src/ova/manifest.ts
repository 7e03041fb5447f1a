// OVA manifest (.mf): "SHA256(file)= hex" lines, SHA1/SHA256/SHA512, extra spaces tolerated.
// Pure parsing plus the comparison rules: mismatch fails, a listed-but-absent file only warns.
import { AgentError, ErrorCode } from '../errors.js';

export type DigestAlgorithm = 'sha1' | 'sha256' | 'sha512';
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface ManifestEntry {
  algorithm: DigestAlgorithm;
  file: string;
  digest: string;
}

const hexLength: Record<DigestAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };

function manifestError(message: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `OVA manifest: ${message}`, 'manifest');
}

/** Parses a manifest; throws on a malformed line or a file listed twice. */
export function parseManifest(text: string): ManifestEntry[] {
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) throw manifestError('too large');
  const out: ManifestEntry[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(SHA1|SHA256|SHA512)\s*\(\s*(.+?)\s*\)\s*=\s*([0-9a-fA-F]+)$/i.exec(line);
    if (!m) throw manifestError(`line ${i + 1} is not "ALGORITHM(file)= digest"`);
    const algorithm = m[1]!.toLowerCase() as DigestAlgorithm;
    const digest = m[3]!.toLowerCase();
    if (digest.length !== hexLength[algorithm])
      throw manifestError(`line ${i + 1}: ${m[1]} digest has the wrong length`);
    if (seen.has(m[2]!)) throw manifestError(`file "${m[2]}" listed twice`);
    seen.add(m[2]!);
    out.push({ algorithm, file: m[2]!, digest });
  }
  if (out.length === 0) throw manifestError('lists no files');
  return out;
}

/**
 * Compares the manifest with the digests computed while reading (entry name → algorithm → hex).
 * Throws on any mismatch; returns warnings for listed files that were absent and present files
 * that were not listed.
 */
export function verifyManifest(
  entries: readonly ManifestEntry[],
  computed: ReadonlyMap<string, Partial<Record<DigestAlgorithm, string>>>,
  manifestName: string,
): string[] {
  const warnings: string[] = [];
  const listed = new Set<string>();
  for (const e of entries) {
    listed.add(e.file);
    const got = computed.get(e.file);
    if (!got) {
      warnings.push(`manifest lists "${e.file}" but the OVA does not contain it`);
      continue;
    }
    const digest = got[e.algorithm];
    if (digest === undefined) throw manifestError(`no ${e.algorithm} digest was computed for "${e.file}"`);
    if (digest !== e.digest)
      throw manifestError(`${e.algorithm.toUpperCase()} digest mismatch for "${e.file}" (corrupted or tampered)`);
  }
  for (const name of computed.keys()) {
    if (name !== manifestName && !listed.has(name)) warnings.push(`"${name}" is not listed in the manifest`);
  }
  return warnings;
}
