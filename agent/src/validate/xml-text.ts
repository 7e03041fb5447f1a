// Free text that ends up inside libvirt XML (VM and snapshot descriptions): XML 1.0 cannot carry
// most control characters, even escaped, so libvirt would refuse the document with an internal
// error. Checked here so the caller hears which field is wrong.
import { invalidArgument } from '../errors.js';

/**
 * Characters outside XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets): C0 controls
 * other than tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/u;

/** Throws INVALID_ARGUMENT naming `field` if `value` is longer than `maxLength` or XML cannot carry it. */
export function validateXmlText(field: string, value: string, maxLength: number): string {
  if (value.length > maxLength) throw invalidArgument(field, `is longer than ${maxLength} characters`);
  const bad = NOT_XML_CHAR.exec(value);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    const what = bad[0] < ' ' ? 'the control character' : 'the character';
    throw invalidArgument(
      field,
      `contains ${what} U+${code}, which libvirt's XML cannot hold (tabs and newlines are fine)`,
    );
  }
  return value;
}
