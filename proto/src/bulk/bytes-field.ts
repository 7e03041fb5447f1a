// Wire encoding of a message whose only set field is one `bytes` field (a data chunk of an
// upload, download, OVA import or export), in a single allocation. The generated encoder grows
// a buffer by doubling, slices it and ts-proto copies it once more (Buffer.from): four copies
// of every megabyte plus zero-filling, which made the sender the bottleneck of every transfer.

/** Bytes a varint of `n` takes (n < 2^32). */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

/**
 * The protobuf encoding of `{ <fieldNumber>: data }` with the field present (as a oneof member
 * is, even when empty); byte for byte what the generated encoder writes.
 */
export function encodeBytesField(fieldNumber: number, data: Uint8Array): Buffer {
  const tag = ((fieldNumber << 3) | 2) >>> 0; // wire type 2: length-delimited
  const head = varintSize(tag) + varintSize(data.length);
  const out = Buffer.allocUnsafe(head + data.length);
  let pos = 0;
  for (let v of [tag, data.length]) {
    while (v >= 0x80) {
      out[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[pos++] = v;
  }
  out.set(data, pos);
  return out;
}
