// Round-robin series (RRD-like) kept in their file: each sample is averaged into one slot per tier
// (5 s × 1 h, 1 min × 1 day, 30 min × 1 year). Memory holds only each tier's open row and the rows
// finished since the last flush, which writes just those rows in place: a series costs a few
// hundred bytes of memory and a flush the rows that changed, however long the window (a whole
// series in memory was 0.7 MB, and rewriting every file took 27 s per flush at 1,000 VMs).
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';

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

/** One consolidated point: the slot's start (ms) and the average of each field over it. */
export interface SeriesPoint {
  at: number;
  values: number[];
}

interface Row {
  slot: number;
  count: number;
  values: number[];
}

// File: a 16-byte header (magic, version, fields, tiers: u32 big-endian), then per tier `rows`
// rows of slot u32, sample count u32 and one f32 per field (little-endian), so a row is written
// with one pwrite. A zero count marks an empty row. Version 1 was the whole buffer in base64, by
// columns; it is read once and rewritten in this layout.
const MAGIC = 0x51585252; // "QXRR"
const VERSION = 2;
const HEADER_BYTES = 16;
const V1_PREFIX = Buffer.from([0x51, 0x58, 0x52, 0x52, 0, 0, 0, 1]).toString('base64').slice(0, 8);

const rowBytes = (fields: number) => 8 + 4 * fields;

export class RoundRobinFile {
  /** Per tier: the row samples go into now. */
  private readonly open: (Row | undefined)[];
  /** Per tier: rows finished since the last flush, by row index. */
  private readonly done: Map<number, Row>[];
  /** Per tier: the rows a running flush is writing. */
  private writing: Map<number, Row>[] = [];
  private dirty = false;

  private constructor(
    readonly path: string,
    readonly fields: number,
    readonly tiers: readonly Tier[],
    open: (Row | undefined)[],
    /** The file at `path`, if any, is not this series': a new one replaces it at the first flush. */
    private fresh: boolean,
  ) {
    this.open = open;
    this.done = tiers.map(() => new Map());
    this.dirty = fresh;
  }

  static byteLength(fields: number, tiers: readonly Tier[] = TIERS): number {
    return HEADER_BYTES + tiers.reduce((n, t) => n + t.rows * rowBytes(fields), 0);
  }

  /** An empty series for `path` whose file is created at the first flush (over whatever is there). */
  static empty(path: string, fields: number, tiers: readonly Tier[] = TIERS): RoundRobinFile {
    return new RoundRobinFile(path, fields, tiers, [], true);
  }

  /**
   * Opens the series in `path` (none there: an empty one). A series of an older shape (version 1,
   * fewer fields) is rewritten in this one first, its points kept and new fields 0; a torn or
   * foreign file throws with the reason, for the caller to start afresh.
   */
  static async open(
    path: string,
    fields: number,
    tiers: readonly Tier[] = TIERS,
    nowMs = Date.now(),
  ): Promise<RoundRobinFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new RoundRobinFile(path, fields, tiers, [], false);
      throw err;
    }
    let image: Buffer | undefined;
    try {
      const { size } = await fh.stat();
      const head = Buffer.alloc(Math.min(size, HEADER_BYTES));
      await fh.read(head, 0, head.length, 0);
      if (head.toString('latin1', 0, 8) === V1_PREFIX) {
        image = reshape(parseV1((await readFile(path, 'utf8')).trim(), tiers), fields, tiers);
      } else {
        const stored = checkHeader(head, size, tiers);
        if (stored > fields) throw new Error(`shape ${stored} fields, expected ${fields}`);
        if (stored < fields) image = reshape(readImage(await readFile(path), stored, tiers), fields, tiers);
      }
      if (!image) {
        const open = await Promise.all(
          tiers.map(async (t, i) => {
            const slot = Math.floor(nowMs / 1000 / t.stepSeconds);
            const buf = Buffer.alloc(rowBytes(fields));
            await fh.read(buf, 0, buf.length, rowOffset(fields, tiers, i, slot % t.rows));
            const row = decodeRow(buf, 0, fields);
            return row.count > 0 && row.slot === slot ? row : undefined;
          }),
        );
        return new RoundRobinFile(path, fields, tiers, open, false);
      }
    } finally {
      await fh.close();
    }
    await writeFileAtomic(path, image);
    return RoundRobinFile.open(path, fields, tiers, nowMs);
  }

  /**
   * Adds a sample taken at `atMs` to its slot in every tier. A sample older than a tier's open row
   * joins its row only while that row is still unwritten; an older one is dropped.
   */
  add(atMs: number, sample: readonly number[]): void {
    if (sample.length !== this.fields) throw new Error(`expected ${this.fields} values, got ${sample.length}`);
    this.tiers.forEach((t, i) => {
      const slot = Math.floor(atMs / 1000 / t.stepSeconds);
      let row = this.open[i];
      if (row && slot < row.slot) {
        row = this.done[i]!.get(slot % t.rows);
        if (row?.slot !== slot) return;
      } else if (row?.slot !== slot) {
        if (row) this.done[i]!.set(row.slot % t.rows, row);
        row = this.open[i] = { slot, count: 0, values: new Array<number>(this.fields).fill(0) };
      }
      const n = row.count;
      for (let f = 0; f < this.fields; f++) row.values[f] = (row.values[f]! * n + sample[f]!) / (n + 1);
      row.count = n + 1;
    });
    this.dirty = true;
  }

  /** Whether samples arrived since the last flush. */
  get pending(): boolean {
    return this.dirty;
  }

  /** Writes the finished and open rows in place (creating the file when there is none), then syncs. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    // Rows finished while this runs wait for the next flush; until written these stay readable.
    const done = (this.writing = this.done.map((m) => new Map(m)));
    this.done.forEach((m) => m.clear());
    this.dirty = false;
    try {
      const fh = await this.openForWrite();
      try {
        for (let i = 0; i < this.tiers.length; i++) await this.writeRows(fh, i, done[i]!);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      done.forEach((m, i) => m.forEach((row, r) => this.done[i]!.has(r) || this.done[i]!.set(r, row)));
      this.dirty = true;
      throw err;
    } finally {
      this.writing = [];
    }
  }

  /** Writes `finished` and the open row of `tier`, neighbouring rows in one write. */
  private async writeRows(fh: FileHandle, tier: number, finished: Map<number, Row>): Promise<void> {
    const rows = new Map(finished);
    const cur = this.open[tier];
    if (cur) rows.set(cur.slot % this.tiers[tier]!.rows, cur);
    const size = rowBytes(this.fields);
    const order = [...rows.keys()].sort((a, b) => a - b);
    for (let k = 0; k < order.length;) {
      let end = k + 1;
      while (end < order.length && order[end] === order[end - 1]! + 1) end++;
      const buf = Buffer.alloc((end - k) * size);
      for (let j = k; j < end; j++) encodeRow(buf, (j - k) * size, rows.get(order[j]!)!);
      await fh.write(buf, 0, buf.length, rowOffset(this.fields, this.tiers, tier, order[k]!));
      k = end;
    }
  }

  /** The filled points of `tier` within its window ending at `nowMs`, oldest first. */
  async points(tier: number, nowMs: number): Promise<SeriesPoint[]> {
    const t = this.tiers[tier]!;
    const size = rowBytes(this.fields);
    const rows = new Map<number, Row>();
    if (!this.fresh) {
      const buf = Buffer.alloc(t.rows * size);
      const fh = await open(this.path, 'r').catch(() => undefined);
      if (fh) {
        try {
          await fh.read(buf, 0, buf.length, rowOffset(this.fields, this.tiers, tier, 0));
        } finally {
          await fh.close();
        }
        for (let r = 0; r < t.rows; r++) rows.set(r, decodeRow(buf, r * size, this.fields));
      }
    }
    for (const m of [this.writing[tier], this.done[tier]]) m?.forEach((row, r) => rows.set(r, row));
    const cur = this.open[tier];
    if (cur) rows.set(cur.slot % t.rows, cur);
    const last = Math.floor(nowMs / 1000 / t.stepSeconds);
    const out: SeriesPoint[] = [];
    for (let slot = Math.max(0, last - t.rows + 1); slot <= last; slot++) {
      const row = rows.get(slot % t.rows);
      if (!row || row.count === 0 || row.slot !== slot) continue;
      out.push({ at: slot * t.stepSeconds * 1000, values: row.values.map((v) => Math.fround(v)) });
    }
    return out;
  }

  private async openForWrite(): Promise<FileHandle> {
    if (!this.fresh) {
      try {
        return await open(this.path, 'r+');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    // A new file: the header and zeros (empty rows; sparse on disk) in place before any row.
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt32BE(MAGIC, 0);
    head.writeUInt32BE(VERSION, 4);
    head.writeUInt32BE(this.fields, 8);
    head.writeUInt32BE(this.tiers.length, 12);
    await writeFileAtomic(this.path, head);
    const fh = await open(this.path, 'r+');
    await fh.truncate(RoundRobinFile.byteLength(this.fields, this.tiers));
    this.fresh = false;
    return fh;
  }
}

function rowOffset(fields: number, tiers: readonly Tier[], tier: number, row: number): number {
  let off = HEADER_BYTES;
  for (let i = 0; i < tier; i++) off += tiers[i]!.rows * rowBytes(fields);
  return off + row * rowBytes(fields);
}

function encodeRow(buf: Buffer, off: number, row: Row): void {
  buf.writeUInt32LE(row.slot, off);
  buf.writeUInt32LE(row.count, off + 4);
  row.values.forEach((v, f) => buf.writeFloatLE(v, off + 8 + 4 * f));
}

function decodeRow(buf: Buffer, off: number, fields: number): Row {
  const values: number[] = [];
  for (let f = 0; f < fields; f++) values.push(buf.readFloatLE(off + 8 + 4 * f));
  return { slot: buf.readUInt32LE(off), count: buf.readUInt32LE(off + 4), values };
}

/** The stored field count of a version-2 file; throws when the header or size is not one. */
function checkHeader(head: Buffer, size: number, tiers: readonly Tier[]): number {
  if (head.length < HEADER_BYTES || head.readUInt32BE(0) !== MAGIC || head.readUInt32BE(4) !== VERSION)
    throw new Error('not a series file');
  const fields = head.readUInt32BE(8);
  if (head.readUInt32BE(12) !== tiers.length) throw new Error(`shape ${head.readUInt32BE(12)} tiers`);
  const want = RoundRobinFile.byteLength(fields, tiers);
  if (size !== want) throw new Error(`size ${size} bytes, expected ${want}`);
  return fields;
}

/** Every row of a version-2 image, per tier. */
function readImage(bytes: Buffer, fields: number, tiers: readonly Tier[]): Row[][] {
  return tiers.map((t, i) =>
    Array.from({ length: t.rows }, (_, r) => decodeRow(bytes, rowOffset(fields, tiers, i, r), fields)),
  );
}

/** Every row of a version-1 file (base64; per tier the slots, then the counts, then the values). */
function parseV1(text: string, tiers: readonly Tier[]): Row[][] {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < HEADER_BYTES) throw new Error(`size ${bytes.length} bytes`);
  const fields = bytes.readUInt32BE(8);
  if (bytes.readUInt32BE(12) !== tiers.length) throw new Error(`shape ${bytes.readUInt32BE(12)} tiers`);
  const want = HEADER_BYTES + tiers.reduce((n, t) => n + t.rows * rowBytes(fields), 0);
  if (bytes.length !== want) throw new Error(`size ${bytes.length} bytes, expected ${want}`);
  // Its arrays were views on one buffer in the machine's (little-endian) order.
  let off = HEADER_BYTES;
  return tiers.map((t) => {
    const slotsAt = off;
    const countsAt = off + t.rows * 4;
    const valuesAt = off + t.rows * 8;
    off += t.rows * rowBytes(fields);
    return Array.from({ length: t.rows }, (_, r) => ({
      slot: bytes.readUInt32LE(slotsAt + r * 4),
      count: bytes.readUInt32LE(countsAt + r * 4),
      values: Array.from({ length: fields }, (_, f) => bytes.readFloatLE(valuesAt + (r * fields + f) * 4)),
    }));
  });
}

/** A version-2 image of `rows` with `fields` fields (fields beyond a row's own are 0). */
function reshape(rows: Row[][], fields: number, tiers: readonly Tier[]): Buffer {
  const image = Buffer.alloc(RoundRobinFile.byteLength(fields, tiers));
  image.writeUInt32BE(MAGIC, 0);
  image.writeUInt32BE(VERSION, 4);
  image.writeUInt32BE(fields, 8);
  image.writeUInt32BE(tiers.length, 12);
  rows.forEach((tierRows, i) =>
    tierRows.forEach((row, r) => {
      if (row.values.length > fields) throw new Error(`shape ${row.values.length} fields, expected ${fields}`);
      const values = [...row.values, ...new Array<number>(fields - row.values.length).fill(0)];
      encodeRow(image, rowOffset(fields, tiers, i, r), { ...row, values });
    }),
  );
  return image;
}
