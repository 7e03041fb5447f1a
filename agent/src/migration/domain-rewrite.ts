// The migratable domain XML for the destination: every moved disk's source file points at its new
// path there and the Quantix metadata names its new pool/volume; everything else is given back to
// libvirt exactly as it was (order and namespaces kept).
import { buildOrderedXml } from '../libvirt/xml/builder.js';
import { readOrderedXml, type XmlNode } from '../libvirt/xml/parser.js';

export interface DiskMove {
  dev: string;
  sourcePath: string;
  destPath: string;
  destPool: string;
  destVolume: string;
}

const children = (n: XmlNode, tag: string): XmlNode[] =>
  ((n[tag] as XmlNode[] | undefined) ?? []).filter((c) => typeof c === 'object' && c !== null);
const attrsOf = (n: XmlNode) => n[':@'] as Record<string, string> | undefined;

/** Throws when a moved disk's source path is not in the XML. */
export function rewriteDisks(xml: string, moves: readonly DiskMove[]): string {
  const doc = readOrderedXml(xml);
  const byPath = new Map(moves.map((m) => [m.sourcePath, m]));
  const byDev = new Map(moves.map((m) => [m.dev, m]));
  const seen = new Set<string>();
  for (const domain of doc.filter((n) => 'domain' in n)) {
    for (const devices of children(domain, 'domain').filter((n) => 'devices' in n)) {
      for (const disk of children(devices, 'devices').filter((n) => 'disk' in n)) {
        for (const source of children(disk, 'disk').filter((n) => 'source' in n)) {
          const attrs = attrsOf(source);
          const move = attrs?.['@file'] !== undefined ? byPath.get(attrs['@file']) : undefined;
          if (attrs && move) {
            seen.add(move.sourcePath);
            attrs['@file'] = move.destPath;
          }
        }
      }
    }
    for (const metadata of children(domain, 'domain').filter((n) => 'metadata' in n)) {
      for (const vm of children(metadata, 'metadata').filter((n) => 'qx:vm' in n)) {
        for (const volume of children(vm, 'qx:vm').filter((n) => 'qx:volume' in n)) {
          const attrs = attrsOf(volume);
          const move = attrs?.['@dev'] !== undefined ? byDev.get(attrs['@dev']) : undefined;
          if (attrs && move) {
            attrs['@pool'] = move.destPool;
            attrs['@volume'] = move.destVolume;
          }
        }
      }
    }
  }
  const missing = moves.filter((m) => !seen.has(m.sourcePath)).map((m) => m.sourcePath);
  if (missing.length) throw new Error(`the domain XML has no disk with source ${missing.join(', ')}`);
  return buildOrderedXml(doc);
}
