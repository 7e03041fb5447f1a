// Wire encoding of a message whose only set field is one `bytes` field (a data chunk of an
// upload, download, OVA import or export), in a single allocation, and its decoding without a
// copy. The generated encoder grows a buffer by doubling, slices it and ts-proto copies it once
// more (Buffer.from): four copies of every megabyte plus zero-filling, which made the sender the
// bottleneck of every transfer. The generated decoder copies the field out of the message
// (Buffer.from again), one more copy and allocation per message on the receiving end.

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

/** Reads a varint (< 2^32) at `pos`; undefined when it is truncated or longer than 5 bytes. */
function readVarint(buf: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0, i = pos; i < buf.length && shift < 35; shift += 7, i++) {
    const byte = buf[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: i + 1 };
  }
  return undefined;
}

/**
 * The data of a message that is exactly `{ <fieldNumber>: data }` (what encodeBytesField
 * writes), as a view into `message` rather than a copy; undefined for anything else (a header,
 * other or repeated fields), which then takes the generated decoder. grpc-js hands each
 * deserializer a buffer of its own (its stream decoder copies every message out of the HTTP/2
 * frames with Buffer.concat), so the view stays valid for as long as the caller keeps it.
 */
export function bytesFieldView(fieldNumber: number, message: Buffer): Buffer | undefined {
  const tag = readVarint(message, 0);
  if (tag?.value !== ((fieldNumber << 3) | 2) >>> 0) return undefined;
  const length = readVarint(message, tag.next);
  if (!length || length.next + length.value !== message.length) return undefined;
  return message.subarray(length.next);
}
