import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_XML_DEPTH, xmlAttr, xmlList, xmlReader, xmlText, xmlTexts } from './parser.js';

const read = xmlReader(['disk']);

test('decodes the five predefined entities in text and attributes, keeps values as strings, drops namespace prefixes', () => {
  const doc = read(`<domain type='kvm'><name>R&amp;D &lt;web&gt;</name><vcpu>2</vcpu>
    <metadata><qx:vm xmlns:qx='x'><qx:tag>a</qx:tag><qx:tag>b</qx:tag></qx:vm></metadata>
    <devices><disk device='disk'><source file='/p/a&amp;b &quot;c&apos;.img'/></disk></devices></domain>`);
  assert.equal(xmlText(doc.domain.name), 'R&D <web>');
  assert.equal(xmlText(doc.domain.vcpu), '2');
  assert.deepEqual(xmlTexts(doc.domain.metadata.vm.tag), ['a', 'b']);
  assert.equal(xmlAttr(xmlList(doc.domain.devices.disk)[0]!.source, 'file'), `/p/a&b "c'.img`);
  assert.equal(xmlList(doc.domain.devices.disk).length, 1, 'a listed element is a list even when single');
});

test('refuses DTDs and entity declarations before parsing (no XXE, no entity expansion)', () => {
  assert.throws(() => read('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'), /DTD/);
  assert.throws(() => read('<d><!ENTITY x "y"></d>'), /entity declarations/);
});

test('refuses nesting deeper than MAX_XML_DEPTH', () => {
  const deep = '<a>'.repeat(MAX_XML_DEPTH + 5) + '</a>'.repeat(MAX_XML_DEPTH + 5);
  assert.throws(() => read(deep));
});
