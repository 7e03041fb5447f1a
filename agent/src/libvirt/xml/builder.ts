// The agent's one XML builder configuration, the counterpart of parser.ts: domain, network and OVF
// XML are built from objects with attributes as "@name" and text as "#text". Every value is escaped
// by the builder (& < > " '), never concatenated into markup; empty elements are written <x/>.
import { XMLBuilder } from 'fast-xml-parser';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  format: true,
  suppressEmptyNode: true,
  processEntities: true,
});

/** The XML text of `doc` (one root element: `{ domain: {...} }`). */
export function buildXml(doc: Record<string, unknown>): string {
  return builder.build(doc) as string;
}

const orderedBuilder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  preserveOrder: true,
  processEntities: true,
});

/** The XML text of a document read with parser.ts's readOrderedXml (edited or not). */
export function buildOrderedXml(doc: unknown[]): string {
  return orderedBuilder.build(doc) as string;
}
