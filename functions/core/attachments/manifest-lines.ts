/**
 * A manifest stream → numbered lines, without ever holding more than one line (≤ the cap) in memory. Lines are
 * split on bytes (LF, with a trailing CR dropped) and decoded one by one, so one line of broken UTF-8 or one
 * oversized line becomes one bad line rather than the end of the manifest.
 */

/** Longest manifest line (or CSV record, or JSON array item) accepted: a ref with a long DP: key is ~1 KiB. */
export const MAX_LINE_BYTES = 64 * 1024;

export type ManifestStream = AsyncIterable<Uint8Array | string>;

export type ManifestLine =
  | { line: number; text: string }
  | { line: number; tooLong: true }
  | { line: number; notUtf8: true };

const LF = 0x0a;
const CR = 0x0d;

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/** Yields every line, blank ones included (callers decide what blank means); the BOM is dropped from line 1. */
export async function* manifestLines(
  source: ManifestStream,
  maxLineBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<ManifestLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parts: Uint8Array[] = [];
  let size = 0;
  let tooLong = false;
  let line = 0;
  let sawAny = false;

  const finish = (): ManifestLine => {
    line++;
    if (tooLong) {
      parts = [];
      size = 0;
      tooLong = false;
      return { line, tooLong: true };
    }
    let bytes = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    parts = [];
    size = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > maxLineBytes) return { line, tooLong: true };
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return { line, notUtf8: true };
    }
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { line, text };
  };

  for await (const chunk of source) {
    const bytes = toBytes(chunk);
    if (bytes.length > 0) sawAny = true;
    let start = 0;
    while (start < bytes.length) {
      const nl = bytes.indexOf(LF, start);
      const end = nl === -1 ? bytes.length : nl;
      if (!tooLong) {
        // +1 leaves room for the CR of a CRLF line that is exactly at the cap.
        if (size + (end - start) > maxLineBytes + 1) {
          tooLong = true;
          parts = [];
          size = 0;
        } else if (end > start) {
          // Copy: the stream may reuse its chunk buffers.
          parts.push(Uint8Array.prototype.slice.call(bytes, start, end));
          size += end - start;
        }
      }
      if (nl === -1) break;
      yield finish();
      start = nl + 1;
    }
  }
  // A last line without a newline still counts; an empty stream has no lines at all.
  if (sawAny && (size > 0 || tooLong)) yield finish();
}

export function lineProblem(l: ManifestLine, maxLineBytes: number = MAX_LINE_BYTES): string | undefined {
  if ('tooLong' in l) return `line is longer than ${maxLineBytes} bytes`;
  if ('notUtf8' in l) return 'line is not valid UTF-8';
  return undefined;
}
