// The agent's one XML reader: libvirt domain, pool, volume, snapshot and network XML and OVF
// descriptors all parse through xmlReader, with one configuration. Pure; building XML stays with
// fast-xml-parser's XMLBuilder in the *-build modules.
import { XMLParser } from 'fast-xml-parser';

/** A parsed element: attributes as "@name", text as "#text" when it has attributes too. */
export type XmlNode = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Deeper nesting is refused; libvirt XML and real OVF descriptors stay far below it. */
export const MAX_XML_DEPTH = 40;

/**
 * Refuses DTDs and entity declarations, which no libvirt or OVF document needs and every XML bomb
 * and XXE does. What remains for the parser to decode are XML's five predefined entities (libvirt
 * escapes & < > in names and descriptions); no HTML or numeric entities.
 */
function refuseDtd(xml: string): void {
  if (/<!DOCTYPE/i.test(xml)) throw new Error('a DTD (<!DOCTYPE>) is not allowed');
  if (/<!ENTITY/i.test(xml)) throw new Error('entity declarations are not allowed');
}

/**
 * A parse function for one kind of document. `arrays` names the elements that are always read as
 * lists (so one <disk> and two look alike). Values stay strings; namespace prefixes are dropped
 * (<qx:vm> reads as vm). Throws on a DTD, on nesting deeper than MAX_XML_DEPTH and on XML that
 * is not well-formed.
 */
export function xmlReader(arrays: Iterable<string>): (xml: string) => XmlNode {
  const listed = new Set(arrays);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    processEntities: true,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: MAX_XML_DEPTH,
    isArray: (name) => listed.has(name),
  });
  return (xml) => {
    refuseDtd(xml);
    return parser.parse(xml) as XmlNode;
  };
}

/** The text of an element (or of its "#text" when it has attributes); '' when absent. */
export function xmlText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return xmlText(v[0]);
  if (typeof v === 'object') return xmlText((v as XmlNode)['#text']);
  return String(v);
}

/** An element that may be missing, single or repeated, as a list of element objects. */
export function xmlList(v: unknown): XmlNode[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is XmlNode => typeof x === 'object' && x !== null);
}

/** The texts of a repeated text-only element (<tag>a</tag><tag>b</tag>). */
export function xmlTexts(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map(xmlText);
}

/** Attribute `name` of an element; '' when the element or the attribute is absent. */
export function xmlAttr(n: unknown, name: string): string {
  const v = n && typeof n === 'object' && !Array.isArray(n) ? (n as XmlNode)[`@${name}`] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

const orderedParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  preserveOrder: true,
  processEntities: true,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  maxNestedTags: MAX_XML_DEPTH,
});

/**
 * A document read in order with namespaces kept (fast-xml-parser's preserveOrder form), for edits
 * that must give libvirt back everything else exactly (a migratable domain XML with new disk paths).
 */
export function readOrderedXml(xml: string): XmlNode[] {
  refuseDtd(xml);
  return orderedParser.parse(xml) as XmlNode[];
}
