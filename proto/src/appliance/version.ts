// Quantix versions (the root package.json's, stamped into etc/quantix-release and every bundle's
// manifest by build/iso): numeric major.minor.patch, an optional pre-release after "-" (sorts before
// its release, as in semver) and build metadata after "+" (ignored). The one comparison shared by
// update refusals (server and agent) and the vDC's agent-version grading.

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers ("next", "rc.1"); empty for a release. */
  pre: string[];
}

const VERSION =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;

/** `text` as a Version; undefined when it is not major.minor.patch[-pre][+build]. */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ? m[4].split('.') : [] };
}

/** <0 when a is older than b, 0 when they are the same version, >0 when a is newer. */
export function compareVersions(a: Version, b: Version): number {
  const numbers = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (numbers) return numbers;
  // https://semver.org/#spec-item-11: a release is newer than its pre-releases; identifiers compare
  // numerically when both are numbers, numbers before words, else as ASCII; more identifiers win a tie.
  if (!a.pre.length || !b.pre.length) return b.pre.length - a.pre.length;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const [x, y] = [a.pre[i]!, b.pre[i]!];
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    const order = nx && ny ? Number(x) - Number(y) : nx !== ny ? (nx ? -1 : 1) : x < y ? -1 : x > y ? 1 : 0;
    if (order) return order;
  }
  return a.pre.length - b.pre.length;
}

/**
 * Why a system running `running` must not install `bundle`, in words naming both; undefined when
 * it may. Refused: the same version ("already runs"), an older one unless `allowDowngrade`, and
 * a version that cannot be ordered (either not major.minor.patch[-pre]).
 */
export function updateRefusal(
  subject: string,
  running: string,
  bundle: string,
  allowDowngrade = false,
): string | undefined {
  const [r, b] = [parseVersion(running), parseVersion(bundle)];
  if (!b) return `cannot update ${subject} to "${bundle}": not a version (major.minor.patch[-pre])`;
  if (!r)
    return `cannot update ${subject}: it runs "${running}", not a version (major.minor.patch[-pre]) to compare ${bundle} with`;
  const order = compareVersions(b, r);
  if (order === 0) return `${subject} already runs ${running}`;
  if (order < 0 && !allowDowngrade)
    return `the bundle's version ${bundle} is older than ${running}, which ${subject} runs: a downgrade needs allowDowngrade`;
  return undefined;
}
