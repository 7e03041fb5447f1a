// Text → the key presses that type it on a US keyboard (the layout QEMU's VNC server assumes):
// X11 keysym, KeyboardEvent.code (QEMU's extended key events carry its scan code) and Shift.
// Pure, so the graphical console's "type text" is tested without a browser.

export interface KeyPress {
  keysym: number;
  code: string;
  shift: boolean;
}

const XK_RETURN = 0xff0d;
const XK_TAB = 0xff09;

/** US-layout punctuation: [unshifted, shifted, code]. */
const PUNCTUATION: readonly [string, string, string][] = [
  ['`', '~', 'Backquote'],
  ['-', '_', 'Minus'],
  ['=', '+', 'Equal'],
  ['[', '{', 'BracketLeft'],
  [']', '}', 'BracketRight'],
  ['\\', '|', 'Backslash'],
  [';', ':', 'Semicolon'],
  ["'", '"', 'Quote'],
  [',', '<', 'Comma'],
  ['.', '>', 'Period'],
  ['/', '?', 'Slash'],
];
const SHIFTED_DIGITS = ')!@#$%^&*(';

/** The presses for one character; undefined for one a US keyboard cannot type. */
export function keyFor(ch: string): KeyPress | undefined {
  if (ch === '\n' || ch === '\r') return { keysym: XK_RETURN, code: 'Enter', shift: false };
  if (ch === '\t') return { keysym: XK_TAB, code: 'Tab', shift: false };
  if (ch === ' ') return { keysym: 0x20, code: 'Space', shift: false };
  const cp = ch.codePointAt(0)!;
  if (ch >= 'a' && ch <= 'z') return { keysym: cp, code: `Key${ch.toUpperCase()}`, shift: false };
  if (ch >= 'A' && ch <= 'Z') return { keysym: cp, code: `Key${ch}`, shift: true };
  if (ch >= '0' && ch <= '9') return { keysym: cp, code: `Digit${ch}`, shift: false };
  const digit = SHIFTED_DIGITS.indexOf(ch);
  if (digit >= 0) return { keysym: cp, code: `Digit${digit}`, shift: true };
  for (const [plain, shifted, code] of PUNCTUATION) {
    if (ch === plain) return { keysym: cp, code, shift: false };
    if (ch === shifted) return { keysym: cp, code, shift: true };
  }
  return undefined;
}

/** The presses for `text` ("\r\n" is one Enter) and the characters that were left out. */
export function keysForText(text: string): { keys: KeyPress[]; skipped: string[] } {
  const keys: KeyPress[] = [];
  const skipped: string[] = [];
  for (const ch of text.replace(/\r\n/g, '\n')) {
    const k = keyFor(ch);
    if (k) keys.push(k);
    else skipped.push(ch);
  }
  return { keys, skipped };
}
