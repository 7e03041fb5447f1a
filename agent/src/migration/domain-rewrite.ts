// The migratable domain XML for the destination: every disk whose source file is one of the moved
// volumes points at its new path there; everything else is given back to libvirt as it was.
import { buildOrderedXml } from '../libvirt/xml/builder.js';
import { readOrderedXml, type XmlNode } from '../libvirt/xml/parser.js';

/** `paths`: source path → destination path. Throws when a listed path is not found in the XML. */
export function rewriteDiskPaths(xml: string, paths: ReadonlyMap<string, string>): string {
  const doc = readOrderedXml(xml);
  const seen = new Set<string>();
  const children = (n: XmlNode, tag: string): XmlNode[] =>
    ((n[tag] as XmlNode[] | undefined) ?? []).filter((c) => typeof c === 'object' && c !== null);
  for (const domain of doc.filter((n) => 'domain' in n)) {
    for (const devices of children(domain, 'domain').filter((n) => 'devices' in n)) {
      for (const disk of children(devices, 'devices').filter((n) => 'disk' in n)) {
        for (const source of children(disk, 'disk').filter((n) => 'source' in n)) {
          const attrs = source[':@'] as Record<string, string> | undefined;
          const to = attrs?.['@file'] !== undefined ? paths.get(attrs['@file']) : undefined;
          if (attrs && to !== undefined) {
            seen.add(attrs['@file']!);
            attrs['@file'] = to;
          }
        }
      }
    }
  }
  const missing = [...paths.keys()].filter((p) => !seen.has(p));
  if (missing.length) throw new Error(`the domain XML has no disk with source ${missing.join(', ')}`);
  return buildOrderedXml(doc);
}
