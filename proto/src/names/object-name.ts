// The one rule for names that reach virsh, file paths or XML (VMs, pools, volumes, networks,
// snapshots), shared by the agent (which enforces it before virsh), the server (a 400 naming the
// field before any work starts) and the UI. Letters, digits, ". _ -", 1–63 characters, not
// starting with "." or "-" (no hidden files, no option-like arguments), no "..", not all digits and
// not shaped like a UUID: virsh reads such an argument as a domain ID or a UUID before it tries it
// as a name (https://gitlab.com/libvirt/libvirt/-/blob/master/tools/virsh-util.c,
// virshLookupDomainInternal).

export const OBJECT_NAME_MAX_LENGTH = 63;

const CHARACTERS = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

/** The same rule as one ECMAScript pattern (OpenAPI `pattern`), for clients that validate early. */
export const OBJECT_NAME_PATTERN =
  '^(?![0-9]+$)(?!(?:[0-9a-fA-F]-*){32}$)(?!.*\\.\\.)[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$';

/**
 * True when libvirt's UUID parser would take `value` for a UUID: 32 hex digits with "-"
 * anywhere between them (https://gitlab.com/libvirt/libvirt/-/blob/master/src/util/viruuid.c,
 * virUUIDParse). Slightly broader than the parser (it also counts a "-" inside a digit pair).
 */
function isUuidShaped(value: string): boolean {
  return /^[0-9a-f]{32}$/i.test(value.replaceAll('-', ''));
}

/** What is wrong with `value` as an object name, as a sentence; undefined when it is fine. */
export function objectNameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > OBJECT_NAME_MAX_LENGTH) {
    return `"${value.slice(0, 20)}…" is longer than ${OBJECT_NAME_MAX_LENGTH} characters`;
  }
  if (!CHARACTERS.test(value) || value.includes('..')) {
    return `"${value}" is not a valid name: use letters, digits, ".", "_" and "-", starting with a letter, digit or "_"`;
  }
  if (/^[0-9]+$/.test(value)) {
    return `"${value}" is not a valid name: a name of only digits would be read by virsh as a domain ID`;
  }
  if (isUuidShaped(value)) {
    return `"${value}" is not a valid name: a name shaped like a UUID would be read by virsh as a UUID`;
  }
  return undefined;
}
