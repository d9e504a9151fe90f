import { describe, expect, it } from 'vitest';
import {
  manifestFormatFromName,
  parseManifest,
  sniffManifest,
} from '../../../../functions/core/attachments/manifest.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import type { JobItem } from '../../../../functions/core/model/job.js';

/** The text as a stream of byte chunks of `size` bytes: splits lines, quotes and multi-byte characters. */
async function* chunked(text: string | Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(items: AsyncIterable<JobItem>): Promise<JobItem[]> {
  const out: JobItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function parse(text: string | Uint8Array, name: string, chunkSize = 7): Promise<JobItem[]> {
  return collect(parseManifest(chunked(text, chunkSize), { name }));
}

function goods(items: JobItem[]) {
  return items.flatMap((i) => ('ok' in i ? [{ ...i.ok, line: i.line }] : []));
}

function bads(items: JobItem[]) {
  return items.flatMap((i) => ('bad' in i ? [i.bad] : []));
}

const DP = 'DP:{"fileId":"f9","fileName":"合同.pdf","spaceId":"1"}';

describe('manifestFormatFromName', () => {
  it('reads the extension, case-insensitively, and only from the last segment', () => {
    expect(manifestFormatFromName('manifests/a.JSONL')).toBe('jsonl');
    expect(manifestFormatFromName('a.ndjson')).toBe('jsonl');
    expect(manifestFormatFromName('x/y.csv')).toBe('csv');
    expect(manifestFormatFromName('y.json')).toBe('json');
    expect(manifestFormatFromName('dir.csv/file')).toBeUndefined();
    expect(manifestFormatFromName('file.txt')).toBeUndefined();
  });
});

describe('parseManifest: JSON Lines', () => {
  it('yields refs with their line numbers and reports broken lines by number, skipping blank lines', async () => {
    const text = [
      '{"id":"f1","key":"k1"}',
      '',
      '{"id":"f2","key":"k2","fileName":"报销 单.pdf","targetKey":"out/a.pdf"}',
      '{"id":"f3","key":', // broken JSON
      '{"key":"k4"}', // no id
      '   ',
      `{"id":5,"key":${JSON.stringify(DP)}}`,
      '{"id":"f6","key":"DP:{broken"}',
      '["f7","k7"]',
      '{"id":"f8","key":"k8","fileName":7}',
      '{"id":"f9","key":"k9","targetKey":"../etc"}',
    ].join('\r\n');
    const items = await parse(text, 'm.jsonl', 5);
    expect(goods(items)).toEqual([
      { id: 'f1', key: 'k1', line: 1 },
      { id: 'f2', key: 'k2', fileName: '报销 单.pdf', targetKey: 'out/a.pdf', line: 3 },
      { id: '5', key: DP, line: 7 },
    ]);
    const bad = bads(items);
    expect(bad.map((b) => b.line)).toEqual([4, 5, 8, 9, 10, 11]);
    expect(bad[0]?.message).toContain('not valid JSON');
    expect(bad[1]?.message).toBe('"id" is missing');
    expect(bad[2]?.message).toContain('"key" is a DP: key whose JSON is broken');
    expect(bad[3]?.message).toContain('must be an object');
    expect(bad[4]?.message).toContain('"fileName" must be a string');
    expect(bad[5]?.message).toContain('"targetKey"');
  });

  it('reports a line over 64 KiB as bad and goes on with the next', async () => {
    const huge = `{"id":"f1","key":"${'x'.repeat(70 * 1024)}"}`;
    const items = await parse(`${huge}\n{"id":"f2","key":"k2"}\n`, 'm.jsonl', 4096);
    expect(bads(items)).toEqual([{ line: 1, message: 'line is longer than 65536 bytes' }]);
    expect(goods(items)).toEqual([{ id: 'f2', key: 'k2', line: 2 }]);
  });

  it('reports over-long fields, naming them', async () => {
    const text = [
      JSON.stringify({ id: 'i'.repeat(257), key: 'k' }),
      JSON.stringify({ id: 'f', key: 'k'.repeat(2049) }),
      JSON.stringify({ id: ' ', key: 'k' }),
      JSON.stringify({ id: 'f', key: '' }),
      JSON.stringify({ id: 1.5, key: 'k' }),
    ].join('\n');
    const bad = bads(await parse(text, 'm.jsonl'));
    expect(bad.map((b) => b.message)).toEqual([
      '"id" is longer than 256 characters',
      '"key" is longer than 2048 characters',
      expect.stringContaining('"id" must be a non-empty string'),
      expect.stringContaining('"key" must be a non-empty string'),
      expect.stringContaining('"id" must be a non-empty string or a non-negative safe integer'),
    ]);
  });

  it('reports a line of broken UTF-8 without losing the lines around it', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"id":"f1","key":"k1"}\n{"id":"f2","key":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"id":"f3","key":"k3"}'),
    ]);
    const items = await parse(bytes, 'm.jsonl', 3);
    expect(goods(items).map((g) => g.id)).toEqual(['f1', 'f3']);
    expect(bads(items)).toEqual([{ line: 2, message: 'line is not valid UTF-8' }]);
  });

  it('strips a BOM and yields nothing for an empty file', async () => {
    expect(goods(await parse('\ufeff{"id":"f1","key":"k1"}', 'm.jsonl', 1))).toEqual([
      { id: 'f1', key: 'k1', line: 1 },
    ]);
    expect(await parse('', 'm.jsonl')).toEqual([]);
    expect(await parse('\n\n', 'm.jsonl')).toEqual([]);
  });
});

describe('parseManifest: CSV', () => {
  it('maps columns by header name in any order and case, and keeps CJK', async () => {
    const text = '\ufeffTargetKey,KEY,extra,Id,FileName\r\n,k1,x,f1,发票.pdf\r\nout/2.bin,k2,,f2,\r\n';
    expect(goods(await parse(text, 'm.csv', 3))).toEqual([
      { id: 'f1', key: 'k1', fileName: '发票.pdf', line: 2 },
      { id: 'f2', key: 'k2', targetKey: 'out/2.bin', line: 3 },
    ]);
  });

  it('reads RFC 4180 quoting: commas, "" escapes and newlines inside quotes, numbered by first line', async () => {
    const dpCell = `"${DP.replaceAll('"', '""')}"`;
    const text = [
      'id,key,fileName',
      `f1,${dpCell},"a, ""quoted"" name.pdf"`,
      'f2,k2,"line one',
      'line two"',
      'f3,k3,plain',
    ].join('\n');
    const items = await parse(text, 'm.csv', 2);
    expect(bads(items)).toEqual([]);
    expect(goods(items)).toEqual([
      { id: 'f1', key: DP, fileName: 'a, "quoted" name.pdf', line: 2 },
      { id: 'f2', key: 'k2', fileName: 'line one\nline two', line: 3 },
      { id: 'f3', key: 'k3', fileName: 'plain', line: 5 },
    ]);
  });

  it('reports broken records by line and goes on: missing values, too many fields, stray quotes', async () => {
    const text = [
      'id,key',
      'f1,k1',
      ',k2', // empty id
      'f3,', // empty key
      'f4,k4,extra',
      '"f5"x,k5', // text after a closing quote
      '',
      'f6,k6',
      'f7,"never closed',
      'f8,k8',
    ].join('\n');
    const items = await parse(text, 'm.csv');
    expect(goods(items).map((g) => [g.id, g.line])).toEqual([
      ['f1', 2],
      ['f6', 8],
      ['f8', 10],
    ]);
    const bad = bads(items);
    expect(bad.map((b) => b.line)).toEqual([3, 4, 5, 6, 9]);
    expect(bad[0]?.message).toBe('"id" is missing');
    expect(bad[1]?.message).toBe('"key" is missing');
    expect(bad[2]?.message).toContain('has 3 fields but the header has 2');
    expect(bad[3]?.message).toContain('after the closing quote');
    expect(bad[4]?.message).toContain('not closed before the end of the file');
  });

  it('throws naming the missing column when the header has no "id" or "key"', async () => {
    const err = await parse('fileId,key\nf1,k1\n', 'm.csv').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('lacks the column "id"');
    const both = await parse('name\nx\n', 'm.csv').catch((e: unknown) => e);
    expect((both as Error).message).toContain('"id" and "key"');
  });

  it('reports a record over 64 KiB as one bad line', async () => {
    const text = `id,key\nf1,"${'x'.repeat(40_000)}\n${'y'.repeat(40_000)}"\nf2,k2\n`;
    const items = await parse(text, 'm.csv', 8192);
    expect(bads(items)[0]).toEqual({ line: 2, message: 'record is longer than 65536 bytes' });
    expect(goods(items).map((g) => g.id)).toContain('f2');
  });

  it('yields nothing for an empty CSV file', async () => {
    expect(await parse('', 'm.csv')).toEqual([]);
  });
});

describe('parseManifest: JSON array', () => {
  it('parses items one by one, minding nested objects and strings with brackets and escaped quotes', async () => {
    const items = [
      { id: 'f1', key: 'k]1', fileName: 'a [1] {x}.pdf', meta: { nested: [1, { deep: '"]}' }] } },
      { id: 'f2', key: DP, fileName: 'say \\"hi\\"' },
      { id: 3, key: 'k3' },
    ];
    const text = `\ufeff  [\n${items.map((i) => JSON.stringify(i, null, 2)).join(' ,\n')}\n]\n`;
    const out = await parse(text, 'm.json', 3);
    expect(bads(out)).toEqual([]);
    expect(goods(out)).toEqual([
      { id: 'f1', key: 'k]1', fileName: 'a [1] {x}.pdf', line: 1 },
      { id: 'f2', key: DP, fileName: 'say \\"hi\\"', line: 2 },
      { id: '3', key: 'k3', line: 3 },
    ]);
  });

  it('reports bad items by their 1-based position and runs the rest', async () => {
    const text = `[{"id":"f1","key":"k1"}, 42, "str", {"id":"f4"}, {"id":"f5","key":"k5"}, null, [1,2], {"id":"f8","key":"k8"}]`;
    const out = await parse(text, 'm.json', 5);
    expect(goods(out).map((g) => [g.id, g.line])).toEqual([
      ['f1', 1],
      ['f5', 5],
      ['f8', 8],
    ]);
    expect(bads(out).map((b) => b.line)).toEqual([2, 3, 4, 6, 7]);
    expect(bads(out)[2]?.message).toBe('"key" is missing');
  });

  it('reports an item that is not valid JSON, or too deep, or too long, as bad', async () => {
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    const long = JSON.stringify({ id: 'f', key: 'x'.repeat(70_000) });
    const text = `[{"id":"f1","key":k1}, ${deep}, ${long}, {"id":"f4","key":"k4"}]`;
    const out = await parse(text, 'm.json', 1000);
    expect(bads(out)).toEqual([
      { line: 1, message: 'item is not valid JSON' },
      { line: 2, message: 'item is nested deeper than 32 levels' },
      { line: 3, message: 'item is longer than 65536 characters' },
    ]);
    expect(goods(out).map((g) => g.id)).toEqual(['f4']);
  });

  it('throws when the file is not an array, is not closed, or has text after it', async () => {
    for (const [text, words] of [
      ['"refs": []', 'must be an array'],
      ['[{"id":"f1","key":"k1"}', 'before the closing "]"'],
      ['[{"id":"f1","key":"k1"', 'ends inside item 1'],
      ['[{"id":"f1","key":"k1"} {"id":"f2","key":"k2"}]', 'expected "," or "]" after item 1'],
      ['[{"id":"f1","key":"k1"}] x', 'text after the closing'],
      ['[,]', 'missing before ","'],
    ] as const) {
      const err = await parse(text, 'm.json').catch((e: unknown) => e);
      expect(err, text).toBeInstanceOf(ValidationError);
      expect((err as Error).message, text).toContain(words);
    }
  });

  it('accepts an empty array, an empty file and a trailing comma', async () => {
    expect(await parse('[ ]', 'm.json')).toEqual([]);
    expect(await parse('', 'm.json')).toEqual([]);
    expect(goods(await parse('[{"id":"f1","key":"k1"},]', 'm.json')).map((g) => g.id)).toEqual(['f1']);
  });

  it('yields items before it reaches a broken tail (streaming, not all at the end)', async () => {
    const seen: JobItem[] = [];
    const err = await (async () => {
      for await (const item of parseManifest(chunked('[{"id":"f1","key":"k1"}, oops', 4), {
        name: 'm.json',
      })) {
        seen.push(item);
      }
    })().catch((e: unknown) => e);
    expect(goods(seen).map((g) => g.id)).toEqual(['f1']);
    expect(err).toBeInstanceOf(ValidationError);
  });
});

describe('sniffManifest', () => {
  it('picks the format from the first non-blank character and replays what it read', async () => {
    for (const [text, format] of [
      ['\ufeff \n [{"id":"f1","key":"k1"}]', 'json'],
      ['\n{"id":"f1","key":"k1"}', 'jsonl'],
      ['id,key\nf1,k1', 'csv'],
    ] as const) {
      const sniffed = await sniffManifest(chunked(text, 1));
      expect(sniffed.format).toBe(format);
      const replayed: Uint8Array[] = [];
      for await (const c of sniffed.source) replayed.push(typeof c === 'string' ? Buffer.from(c) : c);
      expect(Buffer.concat(replayed).toString('utf8')).toBe(text);
    }
  });

  it('parses a manifest without a known extension by sniffing', async () => {
    const out = await parse('id,key\nf1,k1\n', 'manifests/upload.txt');
    expect(goods(out)).toEqual([{ id: 'f1', key: 'k1', line: 2 }]);
  });
});

describe('parseManifest: JSON flavours by content', () => {
  it('reads JSON Lines saved as .json, and a JSON array saved as .jsonl', async () => {
    const lines = '{"id":"f1","key":"k1"}\n{"id":"f2","key":"k2"}\n';
    expect(goods(await parse(lines, 'manifests/m.json')).map((g) => [g.id, g.line])).toEqual([
      ['f1', 1],
      ['f2', 2],
    ]);
    const array = '[{"id":"f1","key":"k1"},{"id":"f2","key":"k2"}]';
    expect(goods(await parse(array, 'manifests/m.jsonl')).map((g) => [g.id, g.line])).toEqual([
      ['f1', 1],
      ['f2', 2],
    ]);
  });

  it('takes an explicit format as is', async () => {
    const err = await collect(
      parseManifest(chunked('{"id":"f1","key":"k1"}', 3), { name: 'm.jsonl', format: 'json' }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('must be an array');
  });

  it('reads a Node Readable stream', async () => {
    const { Readable } = await import('node:stream');
    const stream = Readable.from([Buffer.from('id,key\nf1,'), Buffer.from('k1\n')]);
    expect(goods(await collect(parseManifest(stream, { name: 'm.csv' })))).toEqual([
      { id: 'f1', key: 'k1', line: 2 },
    ]);
  });
});
