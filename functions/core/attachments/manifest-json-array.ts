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
import { MAX_LINE_BYTES, type ManifestSource } from './manifest-lines.js';

/** Refs are flat objects; anything nested deeper than this is not a ref, and bounded depth bounds the work. */
export const MAX_JSON_DEPTH = 32;

export interface JsonArrayOptions {
  /** Longest item, in characters (default 64 Ki). */
  maxItemChars?: number;
  maxDepth?: number;
}

const WS = new Set([' ', '\t', '\n', '\r']);

type Phase = 'start' | 'value' | 'after' | 'end';

export async function* parseJsonArrayManifest(
  source: ManifestSource,
  options: JsonArrayOptions = {},
): AsyncGenerator<JobItem> {
  const maxChars = options.maxItemChars ?? MAX_LINE_BYTES;
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let phase: Phase = 'start';
  let index = 0;
  // The item being collected.
  let inItem = false;
  let primitive = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let size = 0;
  let tooLong = false;
  let tooDeep = false;

  const finishItem = (): JobItem => {
    inItem = false;
    const text = parts.join('');
    parts = [];
    size = 0;
    if (tooLong) {
      tooLong = false;
      tooDeep = false;
      return { bad: { line: index, message: `item is longer than ${maxChars} characters` } };
    }
    if (tooDeep) {
      tooDeep = false;
      return { bad: { line: index, message: `item is nested deeper than ${maxDepth} levels` } };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { bad: { line: index, message: 'item is not valid JSON' } };
    }
    return manifestItemFrom(value, index);
  };

  const decode = (chunk: Uint8Array | string, last: boolean): string => {
    try {
      if (typeof chunk === 'string') return chunk;
      return decoder.decode(chunk, { stream: !last });
    } catch {
      throw new ValidationError(`JSON manifest is not valid UTF-8 (after item ${index})`);
    }
  };

  async function* chunks(): AsyncGenerator<string> {
    for await (const c of source) {
      const s = decode(c, false);
      if (s !== '') yield s;
    }
    const tail = decode(new Uint8Array(0), true);
    if (tail !== '') yield tail;
  }

  for await (const text of chunks()) {
    let itemStart = inItem ? 0 : -1;
    const keep = (end: number): void => {
      if (tooLong) return;
      const piece = text.slice(itemStart, end);
      size += piece.length;
      if (size > maxChars) {
        tooLong = true;
        parts = [];
      } else {
        parts.push(piece);
      }
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (inItem) {
        if (primitive) {
          if (c === ',' || c === ']' || WS.has(c)) {
            keep(i);
            yield finishItem();
            phase = 'after';
            i--; // the delimiter belongs to the array
          }
          continue;
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') {
            inString = false;
            if (depth === 0) {
              keep(i + 1);
              yield finishItem();
              phase = 'after';
            }
          }
          continue;
        }
        if (c === '"') inString = true;
        else if (c === '{' || c === '[') {
          depth++;
          if (depth > maxDepth) tooDeep = true;
        } else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            keep(i + 1);
            yield finishItem();
            phase = 'after';
          }
        }
        continue;
      }
      if (WS.has(c) || (c === '\ufeff' && phase === 'start')) continue;
      switch (phase) {
        case 'start':
          if (c !== '[') {
            throw new ValidationError(
              `JSON manifest must be an array of refs ("[{…}, …]"); it starts with "${c}"`,
            );
          }
          phase = 'value';
          break;
        case 'value':
          // `]` here closes an empty array or follows a trailing comma (accepted: a common hand-editing slip).
          if (c === ']') {
            phase = 'end';
            break;
          }
          if (c === ',') {
            throw new ValidationError(`JSON manifest: an item is missing before "," (after item ${index})`);
          }
          index++;
          inItem = true;
          itemStart = i;
          depth = 0;
          inString = false;
          escaped = false;
          primitive = false;
          if (c === '{' || c === '[') depth = 1;
          else if (c === '"') inString = true;
          else primitive = true;
          break;
        case 'after':
          if (c === ',') phase = 'value';
          else if (c === ']') phase = 'end';
          else
            throw new ValidationError(`JSON manifest: expected "," or "]" after item ${index}, found "${c}"`);
          break;
        case 'end':
          throw new ValidationError('JSON manifest: there is text after the closing "]"');
      }
    }
    if (inItem) keep(text.length);
  }
  if (inItem && primitive) {
    yield finishItem();
    phase = 'after';
  }
  if (phase === 'start') return; // an empty (or all-blank) file: no refs, nothing wrong
  if (phase !== 'end') {
    throw new ValidationError(
      inItem
        ? `JSON manifest ends inside item ${index}`
        : `JSON manifest ends before the closing "]" (after item ${index})`,
    );
  }
}
