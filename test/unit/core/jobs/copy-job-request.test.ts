import { describe, expect, it } from 'vitest';
import { buildLanes } from '../../../../functions/core/attachments/lanes.js';
import { TooLargeError, ValidationError } from '../../../../functions/core/errors.js';
import { parseCopyJobRequest, parseS3Uri } from '../../../../functions/core/jobs/copy-job-request.js';

const opts = { bucket: 'archive', maxRefs: 3 };
const parse = (body: unknown) =>
  parseCopyJobRequest(typeof body === 'string' ? body : JSON.stringify(body), opts);

function refusal(body: unknown): Error {
  try {
    parse(body);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('parseCopyJobRequest', () => {
  it('accepts refs (numeric ids become strings) with an optional key template', () => {
    const request = parse({
      refs: [
        { id: 136634573449, key: 'k1', fileName: '发票.pdf' },
        { id: 'a', key: 'k2', extra: 1 },
      ],
      keyTemplate: 'archive/{jobId}/{fileName}',
    });
    expect(request).toEqual({
      kind: 'refs',
      refs: [
        { id: '136634573449', key: 'k1', fileName: '发票.pdf' },
        { id: 'a', key: 'k2' },
      ],
      keyTemplate: 'archive/{jobId}/{fileName}',
    });
  });

  it('accepts a manifest in the archive bucket under manifests/', () => {
    expect(parse({ manifest: 's3://archive/manifests/六月 报销.csv' })).toEqual({
      kind: 'manifest',
      bucket: 'archive',
      key: 'manifests/六月 报销.csv',
    });
  });

  it.each([
    ['not JSON', '{"refs": [', /not valid JSON/],
    ['an empty body', '', /empty/],
    ['an array body', [], /JSON object/],
    ['neither refs nor manifest', { keyTemplate: 'a/{fileId}' }, /exactly one of/],
    ['both refs and manifest', { refs: [], manifest: 's3://archive/manifests/a.csv' }, /exactly one of/],
    ['refs that is not an array', { refs: { id: '1' } }, /"refs" must be an array/],
    ['empty refs', { refs: [] }, /"refs" is empty/],
    ['another bucket', { manifest: 's3://elsewhere/manifests/a.csv' }, /archive bucket \(s3:\/\/archive\/\)/],
    [
      'a key outside manifests/',
      { manifest: 's3://archive/jobs/x/job.json' },
      /under s3:\/\/archive\/manifests\//,
    ],
    ['an https URL', { manifest: 'https://archive.s3.amazonaws.com/manifests/a.csv' }, /s3:\/\/bucket/],
    [
      'an unknown template placeholder',
      { refs: [{ id: '1', key: 'k' }], keyTemplate: '{nope}/{fileName}' },
      /keyTemplate.*\{nope\}/,
    ],
    [
      'a template that climbs out',
      { refs: [{ id: '1', key: 'k' }], keyTemplate: '../{fileName}' },
      /keyTemplate/,
    ],
  ])('refuses %s with a 400 naming it', (_what, body, message) => {
    const err = refusal(body);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(message);
  });

  it('names the bad item (from 0) and its field, and counts the rest', () => {
    const err = refusal({
      refs: [{ id: '1', key: 'k' }, { id: '2' }, { key: 'k3' }],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/refs\[1\]: "key" is missing/);
    expect(err.message).toMatch(/refs\[2\]: "id" is missing/);

    const many = refusal({ refs: Array.from({ length: 3 }, () => ({ id: '' })) });
    expect(many.message).toMatch(/refs\[0\]/);
    const lots = parseCopyJobRequestLots();
    expect(lots.message).toMatch(/and 3 more bad refs/);
  });

  it('answers 413 past the ref limit, before checking the refs', () => {
    const err = refusal({ refs: [{}, {}, {}, {}] });
    expect(err).toBeInstanceOf(TooLargeError);
    expect((err as TooLargeError).status).toBe(413);
  });
});

function parseCopyJobRequestLots(): Error {
  try {
    parseCopyJobRequest(JSON.stringify({ refs: Array.from({ length: 8 }, () => ({})) }), {
      bucket: 'archive',
    });
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('parseS3Uri', () => {
  it('splits bucket and key and takes the key literally', () => {
    expect(parseS3Uri('s3://b/manifests/a%20b.csv')).toEqual({ bucket: 'b', key: 'manifests/a%20b.csv' });
    expect(parseS3Uri('s3://b/')).toBeUndefined();
    expect(parseS3Uri('s3:/b/k')).toBeUndefined();
  });
});

describe('parseCopyJobRequest with the bucket lanes', () => {
  const lanes = buildLanes({
    templates: ['attachments/{fileId}/{fileName}', 'forms/{formType}/{flowCode}/{fileId}-{fileName}'],
    extraArchive: ['archive/'],
    reportPrefix: 'jobs/',
  }).lanes;
  const parseL = (body: unknown) =>
    parseCopyJobRequest(JSON.stringify(body), { ...opts, maxRefs: 10, lanes });
  const refusalL = (body: unknown): Error => {
    try {
      parseL(body);
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected a refusal');
  };

  it.each([
    ['jobs/20260101T000000Z-aa/job.json', 'system lane "jobs/"'],
    ['jobs/other/batches/b00003.json', 'system lane "jobs/"'],
    ['sync/state.json', 'system lane "sync/"'],
    ['manifests/x.jsonl', 'system lane "manifests/"'],
    ['verify/x', 'system lane "verify/"'],
    ['somewhere/x.pdf', 'outside the archive lanes'],
  ])('answers a targetKey %s with a 400 naming the item, the field and the rule', (targetKey, rule) => {
    const err = refusalL({
      refs: [
        { id: 'a', key: 'k' },
        { id: 'b', key: 'k', targetKey },
      ],
    });
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain('refs[1]: "targetKey"');
    expect(err.message).toContain(rule);
  });

  it.each([
    ['jobs/{jobId}/job.json', /system lane "jobs\/"/],
    ['manifests/{fileName}', /system lane "manifests\/"/],
    ['{fileName', /unclosed/],
    ['attachments/{fileName', /unclosed/],
    ['other/{fileId}/{fileName}', /outside the archive lanes/],
    ['{fileId}/{fileName}', /fixed folder/],
  ])('answers keyTemplate %s with a 400 naming the rule', (keyTemplate, rule) => {
    const err = refusalL({ refs: [{ id: 'a', key: 'k' }], keyTemplate });
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/^"keyTemplate": /);
    expect(err.message).toMatch(rule);
  });

  it('accepts a template rooted in a configured lane, and onConflict', () => {
    expect(
      parseL({
        refs: [{ id: 'a', key: 'k' }],
        keyTemplate: 'archive/{jobId}/{fileName}',
        onConflict: 'overwrite',
      }),
    ).toMatchObject({
      keyTemplate: 'archive/{jobId}/{fileName}',
      onConflict: 'overwrite',
    });
    expect(parseL({ refs: [{ id: 'a', key: 'k' }], onConflict: 'fail' })).not.toHaveProperty('onConflict');
    expect(parseL({ manifest: 's3://archive/manifests/m.csv', onConflict: 'overwrite' })).toMatchObject({
      onConflict: 'overwrite',
    });
    expect(refusalL({ refs: [{ id: 'a', key: 'k' }], onConflict: 'replace' }).message).toMatch(
      /"onConflict" must be "fail" or "overwrite"/,
    );
  });
});
