// How `qx` answers: with --json the command's result as JSON on stdout (for scripts), else short
// human lines and tables; progress always goes to stderr so that stdout stays parseable.
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The command's result: `value` as JSON, or what `human` prints. */
  result(value: unknown, human: () => void): void {
    if (this.json) this.stdout.write(JSON.stringify(value, null, 2) + '\n');
    else human();
  }

  line(text: string): void {
    this.stdout.write(text + '\n');
  }

  progress(text: string): void {
    this.stderr.write(text + '\n');
  }

  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const fmt = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    this.line(fmt(headers));
    for (const r of rows) this.line(fmt(r));
  }
}

/** Bytes as the UI writes them (1 decimal, binary units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
