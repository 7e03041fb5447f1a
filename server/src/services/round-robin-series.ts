// Fixed-size round-robin series (RRD-like): each sample is averaged into one slot per tier
// (5 s × 1 h, 1 min × 1 day, 30 min × 1 year), so memory and file size never grow. Rows hold
// the slot number, the sample count and one float per field; a reused row is reset first.

/** A resolution: `stepSeconds` per row, `rows` rows (the window is their product). */
export interface Tier {
  stepSeconds: number;
  rows: number;
}

export const TIERS: readonly Tier[] = [
  { stepSeconds: 5, rows: 720 },
  { stepSeconds: 60, rows: 1440 },
  { stepSeconds: 1800, rows: 17_520 },
];

const MAGIC = 0x51585252; // "QXRR"
const VERSION = 1;
const HEADER_BYTES = 16;

/** One consolidated point: the slot's start (ms) and the average of each field over it. */
export interface SeriesPoint {
  at: number;
  values: number[];
}

export class RoundRobinSeries {
  /** Per tier: slot numbers (floor(t/step)), sample counts, then rows × fields values. */
  private readonly slots: Uint32Array[] = [];
  private readonly counts: Uint32Array[] = [];
  private readonly values: Float32Array[] = [];
  readonly buffer: ArrayBuffer;

  constructor(
    readonly fields: number,
    readonly tiers: readonly Tier[] = TIERS,
  ) {
    this.buffer = new ArrayBuffer(RoundRobinSeries.byteLength(fields, tiers));
    let off = HEADER_BYTES;
    const view = new DataView(this.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, VERSION);
    view.setUint32(8, fields);
    view.setUint32(12, tiers.length);
    for (const t of tiers) {
      this.slots.push(new Uint32Array(this.buffer, off, t.rows));
      off += t.rows * 4;
      this.counts.push(new Uint32Array(this.buffer, off, t.rows));
      off += t.rows * 4;
      this.values.push(new Float32Array(this.buffer, off, t.rows * fields));
      off += t.rows * fields * 4;
    }
  }

  static byteLength(fields: number, tiers: readonly Tier[] = TIERS): number {
    return HEADER_BYTES + tiers.reduce((n, t) => n + t.rows * (8 + fields * 4), 0);
  }

  /** Adds a sample taken at `atMs` to the slot it falls in, in every tier. */
  add(atMs: number, sample: readonly number[]): void {
    if (sample.length !== this.fields) throw new Error(`expected ${this.fields} values, got ${sample.length}`);
    this.tiers.forEach((t, i) => {
      const slot = Math.floor(atMs / 1000 / t.stepSeconds);
      const row = slot % t.rows;
      const counts = this.counts[i]!;
      const values = this.values[i]!;
      // Slot 0 is the epoch: a zero count marks an empty row whatever its slot says.
      if (this.slots[i]![row] !== slot || counts[row] === 0) {
        this.slots[i]![row] = slot;
        counts[row] = 0;
        values.fill(0, row * this.fields, (row + 1) * this.fields);
      }
      const n = counts[row]!;
      for (let f = 0; f < this.fields; f++) {
        const k = row * this.fields + f;
        values[k] = (values[k]! * n + sample[f]!) / (n + 1);
      }
      counts[row] = n + 1;
    });
  }

  /** The filled points of `tier` within its window ending at `nowMs`, oldest first. */
  points(tier: number, nowMs: number): SeriesPoint[] {
    const t = this.tiers[tier]!;
    const last = Math.floor(nowMs / 1000 / t.stepSeconds);
    const out: SeriesPoint[] = [];
    for (let slot = last - t.rows + 1; slot <= last; slot++) {
      if (slot < 0) continue;
      const row = slot % t.rows;
      if (this.counts[tier]![row] === 0 || this.slots[tier]![row] !== slot) continue;
      const v = this.values[tier]!.subarray(row * this.fields, (row + 1) * this.fields);
      out.push({ at: slot * t.stepSeconds * 1000, values: Array.from(v) });
    }
    return out;
  }

  /** The file contents: the whole buffer, base64 (fixed size for given fields and tiers). */
  serialize(): string {
    return Buffer.from(this.buffer).toString('base64');
  }

  /**
   * Reads a serialised series; throws (with the reason) on a torn, foreign or wrong-shaped file,
   * which the caller replaces with an empty series.
   */
  static parse(text: string, fields: number, tiers: readonly Tier[] = TIERS, widen = false): RoundRobinSeries {
    const stored = RoundRobinSeries.storedFields(text);
    if (widen && stored > 0 && stored < fields) return RoundRobinSeries.parse(text, stored, tiers).widened(fields);
    const bytes = Buffer.from(text, 'base64');
    const want = RoundRobinSeries.byteLength(fields, tiers);
    if (bytes.length !== want) throw new Error(`size ${bytes.length} bytes, expected ${want}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (view.getUint32(0) !== MAGIC || view.getUint32(4) !== VERSION) throw new Error('not a series file');
    if (view.getUint32(8) !== fields || view.getUint32(12) !== tiers.length)
      throw new Error(
        `shape ${view.getUint32(8)} fields × ${view.getUint32(12)} tiers, expected ${fields} × ${tiers.length}`,
      );
    const s = new RoundRobinSeries(fields, tiers);
    new Uint8Array(s.buffer).set(bytes);
    return s;
  }

  /** The field count a serialised series says it has (0 when the text is too short to tell). */
  static storedFields(text: string): number {
    const head = Buffer.from(text.slice(0, 24), 'base64');
    return head.length >= 12 ? head.readUInt32BE(8) : 0;
  }

  /** A copy with `fields` fields: these first, the new ones 0 in every filled row. */
  widened(fields: number): RoundRobinSeries {
    if (fields < this.fields) throw new Error(`cannot narrow ${this.fields} fields to ${fields}`);
    const s = new RoundRobinSeries(fields, this.tiers);
    this.tiers.forEach((t, i) => {
      s.slots[i]!.set(this.slots[i]!);
      s.counts[i]!.set(this.counts[i]!);
      for (let row = 0; row < t.rows; row++)
        s.values[i]!.set(this.values[i]!.subarray(row * this.fields, (row + 1) * this.fields), row * fields);
    });
    return s;
  }
}
