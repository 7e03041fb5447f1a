// OVF/CIM allocation units ("byte * 2^20", "MegaBytes", "GB", …) → a byte multiplier.
// Pure; used for memory and disk capacity so neither assumes MiB (a classic importer bug).

const named: Record<string, number> = {
  byte: 1,
  bytes: 1,
  b: 1,
  kb: 2 ** 10,
  kib: 2 ** 10,
  kilobyte: 2 ** 10,
  kilobytes: 2 ** 10,
  mb: 2 ** 20,
  mib: 2 ** 20,
  megabyte: 2 ** 20,
  megabytes: 2 ** 20,
  gb: 2 ** 30,
  gib: 2 ** 30,
  gigabyte: 2 ** 30,
  gigabytes: 2 ** 30,
  tb: 2 ** 40,
  tib: 2 ** 40,
  terabyte: 2 ** 40,
  terabytes: 2 ** 40,
};

/**
 * The number of bytes one unit stands for, or undefined when the unit is not understood.
 * An empty unit means bytes (the OVF default for capacity).
 */
export function unitBytes(units: string | undefined): number | undefined {
  const u = (units ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
  if (u === '') return 1;
  if (u in named) return named[u];
  // DSP0004 programmatic units: "byte * 2^20", "byte * 10^6", "byte * 1024", products of those.
  const m = /^bytes? ?((?:\* ?\d+(?:\^\d+)? ?)+)$/.exec(u);
  if (!m) return undefined;
  let factor = 1;
  for (const term of m[1]!
    .split('*')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const [base, exp] = term.split('^').map(Number) as [number, number | undefined];
    factor *= exp === undefined ? base : base ** exp;
  }
  return Number.isSafeInteger(factor) && factor > 0 ? factor : undefined;
}
