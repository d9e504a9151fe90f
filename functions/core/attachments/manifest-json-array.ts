/**
 * JSON array manifests (`[{"id":…,"key":…}, …]`) read incrementally: a small tokenizer finds where each top-level
 * item starts and ends (minding strings, escapes and nesting) and only that item's text is JSON.parse'd, so the
 * file is never held whole. An item that is not valid JSON, too long or too deep is one bad item (numbered from 1)
 * and the rest still run; a file that is not an array at all, or whose array is broken between items, is a
 * manifest-level ValidationError.
 */
import { ValidationError } from '../errors.js';
import type { JobItem } from '../model/job.js';
import { manifestItemFrom } from './manifest-item.js';
import { MAX_LINE_BYTES, type ManifestStream } from './manifest-lines.js';

/** Refs are flat objects; anything nested deeper than this is not a ref, and bounded depth bounds the work. */
export const MAX_JSON_DEPTH = 32;

export interface JsonArrayOptions {
  /** Longest item, in characters (default 64 Ki). */
  maxItemChars?: number;
  maxDepth?: number;
}

const WS = new Set([' ', '\t', '\n', '\r']);

type Phase = 'start' | 'value' | 'after' | 'end';

/** Finds the top-level items of a JSON array as text arrives, keeping only the item being read. */
class ItemScanner {
  #phase: Phase = 'start';
  #index = 0;
  // The item being collected.
  #inItem = false;
  #primitive = false;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #parts: string[] = [];
  #size = 0;
  #tooLong = false;
  #tooDeep = false;

  constructor(
    private readonly maxChars: number,
    private readonly maxDepth: number,
  ) {}

  get index(): number {
    return this.#index;
  }

  /** Scans one decoded chunk, yielding each item as it completes (before any error later in the chunk). */
  *scan(text: string): Generator<JobItem> {
    let itemStart = this.#inItem ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (this.#inItem) {
        const end = this.#itemEnd(c, i);
        if (end === undefined) continue;
        this.#keep(text, itemStart, end);
        yield this.#finishItem();
        this.#phase = 'after';
        if (end === i) i--; // a primitive's delimiter belongs to the array
        continue;
      }
      if (WS.has(c) || (c === '\ufeff' && this.#phase === 'start')) continue;
      if (this.#between(c)) itemStart = i;
    }
    if (this.#inItem) this.#keep(text, itemStart, text.length);
  }

  /** The end of the input: a last primitive item, or a ValidationError when the array is not closed. */
  end(): JobItem[] {
    const out: JobItem[] = [];
    if (this.#inItem && this.#primitive) {
      out.push(this.#finishItem());
      this.#phase = 'after';
    }
    if (this.#phase === 'start' || this.#phase === 'end') return out; // empty file: no refs, nothing wrong
    throw new ValidationError(
      this.#inItem
        ? `JSON manifest ends inside item ${this.#index}`
        : `JSON manifest ends before the closing "]" (after item ${this.#index})`,
    );
  }

  /** Inside an item: where it ends (exclusive), or undefined while it goes on. */
  #itemEnd(c: string, i: number): number | undefined {
    if (this.#primitive) return c === ',' || c === ']' || WS.has(c) ? i : undefined;
    if (this.#inString) {
      if (this.#escaped) this.#escaped = false;
      else if (c === '\\') this.#escaped = true;
      else if (c === '"') {
        this.#inString = false;
        if (this.#depth === 0) return i + 1;
      }
      return undefined;
    }
    if (c === '"') this.#inString = true;
    else if (c === '{' || c === '[') {
      this.#depth++;
      if (this.#depth > this.maxDepth) this.#tooDeep = true;
    } else if (c === '}' || c === ']') {
      this.#depth--;
      if (this.#depth === 0) return i + 1;
    }
    return undefined;
  }

  /** Outside an item: the array's own punctuation. True when `c` starts an item. */
  #between(c: string): boolean {
    switch (this.#phase) {
      case 'start':
        if (c !== '[') {
          throw new ValidationError(
            `JSON manifest must be an array of refs ("[{…}, …]"); it starts with "${c}"`,
          );
        }
        this.#phase = 'value';
        return false;
      case 'value':
        // `]` here closes an empty array or follows a trailing comma (accepted: a common hand-editing slip).
        if (c === ']') {
          this.#phase = 'end';
          return false;
        }
        if (c === ',') {
          throw new ValidationError(
            `JSON manifest: an item is missing before "," (after item ${this.#index})`,
          );
        }
        this.#startItem(c);
        return true;
      case 'after':
        if (c === ',') this.#phase = 'value';
        else if (c === ']') this.#phase = 'end';
        else
          throw new ValidationError(
            `JSON manifest: expected "," or "]" after item ${this.#index}, found "${c}"`,
          );
        return false;
      case 'end':
        throw new ValidationError('JSON manifest: there is text after the closing "]"');
    }
  }

  #startItem(c: string): void {
    this.#index++;
    this.#inItem = true;
    this.#depth = c === '{' || c === '[' ? 1 : 0;
    this.#inString = c === '"';
    this.#escaped = false;
    this.#primitive = !(c === '{' || c === '[' || c === '"');
  }

  #keep(text: string, start: number, end: number): void {
    if (this.#tooLong) return;
    const piece = text.slice(start, end);
    this.#size += piece.length;
    if (this.#size > this.maxChars) {
      this.#tooLong = true;
      this.#parts = [];
    } else {
      this.#parts.push(piece);
    }
  }

  #finishItem(): JobItem {
    this.#inItem = false;
    const text = this.#parts.join('');
    const line = this.#index;
    const [tooLong, tooDeep] = [this.#tooLong, this.#tooDeep];
    this.#parts = [];
    this.#size = 0;
    this.#tooLong = false;
    this.#tooDeep = false;
    if (tooLong) return { bad: { line, message: `item is longer than ${this.maxChars} characters` } };
    if (tooDeep) return { bad: { line, message: `item is nested deeper than ${this.maxDepth} levels` } };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { bad: { line, message: 'item is not valid JSON' } };
    }
    return manifestItemFrom(value, line);
  }
}

export async function* parseJsonArrayManifest(
  source: ManifestStream,
  options: JsonArrayOptions = {},
): AsyncGenerator<JobItem> {
  const scanner = new ItemScanner(options.maxItemChars ?? MAX_LINE_BYTES, options.maxDepth ?? MAX_JSON_DEPTH);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk: Uint8Array | string, last: boolean): string => {
    try {
      if (typeof chunk === 'string') return chunk;
      return decoder.decode(chunk, { stream: !last });
    } catch {
      throw new ValidationError(`JSON manifest is not valid UTF-8 (after item ${scanner.index})`);
    }
  };
  for await (const chunk of source) {
    const text = decode(chunk, false);
    if (text !== '') yield* scanner.scan(text);
  }
  const tail = decode(new Uint8Array(0), true);
  if (tail !== '') yield* scanner.scan(tail);
  yield* scanner.end();
}
