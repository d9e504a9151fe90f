/**
 * Whatever a manifest line, a request or a configuration says, no accepted object key lands outside the archive
 * lanes or inside a system lane, and every refusal names its rule: arbitrary targetKeys, file names, ids and
 * templates (valid, broken, aimed at jobs/, sync/, manifests/ …), lanes built from arbitrary settings, and jobs
 * whose refs fight over keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobTargets, targetKeyFor } from '../../../../functions/core/attachments/job-targets.js';
import {
  buildLanes,
  keyTemplateProblem,
  type Lanes,
  laneProblem,
} from '../../../../functions/core/attachments/lanes.js';
import { objectKeyProblem } from '../../../../functions/core/attachments/object-key.js';
import { refIdentity } from '../../../../functions/core/attachments/ref.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';

const { lanes } = buildLanes({
  templates: ['attachments/{fileId}/{fileName}', 'forms/{formType}/{flowCode}/{fileId}-{fileName}'],
  extraArchive: ['scans/2024'],
  reportPrefix: 'jobs/',
});

const SYSTEM = ['jobs/', 'sync/', 'manifests/', 'hooks/', 'verify/'];
const ARCHIVE = ['attachments/', 'forms/', 'scans/2024/'];

/** Fragments a hostile or careless user would put in a key or a template. */
const fragment = fc.constantFrom(
  'jobs/',
  'jobs',
  'Jobs/',
  'sync/',
  'sync',
  'manifests/',
  'hooks/',
  'verify/',
  'attachments/',
  'attachments',
  'forms/',
  'scans/',
  'scans/2024/',
  '2024/',
  '../',
  './',
  '/',
  '//',
  '.',
  '..',
  '\\',
  'job.json',
  'batches/',
  'b00003.json',
  'state.json',
  'x.jsonl',
  '名',
  '📄',
  ' ',
  '\u0000',
  '\u202e',
  '{fileId}',
  '{fileName}',
  '{jobId}',
  '{ext}',
  '{flowCode}',
  '{formType}',
  '{nope}',
  '{',
  '}',
  '{}',
  '{{fileId}}',
  '{fileName',
);

const composed = fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
const hostile = fc.oneof(
  composed,
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const ruleWords: Record<string, RegExp> = {
  target_in_system_lane: /system lane "(jobs|sync|manifests|hooks|verify)\/"/,
  target_outside_archive_lanes: /outside the archive lanes/,
  invalid_target_key: /targetKey/,
  invalid_object_key: /object key/,
  invalid_key_template: /key template/,
  target_key_conflict: /already taken in this job by line \d+/,
};

function assertInLanes(key: string, l: Lanes = lanes): void {
  expect(objectKeyProblem(key)).toBeUndefined();
  expect(l.archive.some((a) => key.startsWith(a))).toBe(true);
  for (const s of l.system) expect(key.startsWith(s.prefix)).toBe(false);
  for (const s of SYSTEM) expect(key.startsWith(s)).toBe(false);
}

function assertNamedRefusal(refusal: { code: string; message: string }): void {
  const rule = ruleWords[refusal.code];
  expect(rule, `unexpected code ${refusal.code}`).toBeDefined();
  expect(refusal.message).toMatch(rule as RegExp);
}

describe('targetKey and lanes', () => {
  it('accepts a targetKey only inside an archive lane; refuses every other with its rule', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom(...ARCHIVE, ...SYSTEM, ''), (tail, head) => {
        const ref: CopyRef = { id: 'F1', key: 'k', targetKey: `${head}${tail}` };
        const out = targetKeyFor(ref, 'attachments/{fileId}/{fileName}', 'job-1', lanes);
        if ('objectKey' in out) {
          expect(out.objectKey).toBe(ref.targetKey);
          assertInLanes(out.objectKey);
        } else {
          expect(['invalid_target_key', 'target_in_system_lane', 'target_outside_archive_lanes']).toContain(
            out.refusal.code,
          );
          assertNamedRefusal(out.refusal);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('laneProblem agrees with the lanes for any key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCHIVE, ...SYSTEM, 'other/', ''), hostile, (head, tail) => {
        const key = `${head}${tail}`;
        const problem = laneProblem(key, lanes);
        const inSystem = SYSTEM.some((s) => key.startsWith(s));
        const inArchive = ARCHIVE.some((a) => key.startsWith(a));
        if (inSystem) expect(problem?.code).toBe('target_in_system_lane');
        else if (!inArchive) expect(problem?.code).toBe('target_outside_archive_lanes');
        else expect(problem).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('key templates', () => {
  const fileName = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom('..', '/', '../../jobs/x/job.json', 'jobs', 'sync', '\u202egpj.exe', '', '.'),
  );

  it('a template accepted for a request makes only keys inside the archive lanes, whatever the names', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHIVE, ...SYSTEM, '', 'x/'),
        composed,
        fileName,
        fileName,
        fileName,
        (root, rest, name, id, flowCode) => {
          const template = `${root}${rest}`;
          const problem = keyTemplateProblem(template, lanes);
          const ref: CopyRef = {
            id: id === '' ? 'x' : id,
            key: 'k',
            fileName: name,
            vars: { flowCode, formType: name },
          };
          const out = targetKeyFor(ref, template, 'job-1', lanes);
          if (problem) {
            expect(problem.code).toBe('invalid_key_template');
            assertNamedRefusal(problem);
            return;
          }
          if ('objectKey' in out) assertInLanes(out.objectKey);
          // An accepted template may still fail one ref at run time (say {ext} of a name without one), never
          // by landing in a system lane.
          else expect(out.refusal.code).toBe('invalid_object_key');
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('refuses the templates the issue saw break', () => {
    for (const template of [
      'jobs/{jobId}/job.json',
      'sync/state.json',
      'manifests/{fileName}',
      '{fileName',
    ]) {
      const problem = keyTemplateProblem(template, lanes);
      expect(problem?.code, template).toBe('invalid_key_template');
    }
    expect(keyTemplateProblem('attachments/{fileName', lanes)?.message).toMatch(/unclosed '\{'/);
    expect(keyTemplateProblem('{fileId}/{fileName}', lanes)?.message).toMatch(/fixed folder/);
    expect(keyTemplateProblem('other/{fileId}', lanes)?.message).toMatch(/outside the archive lanes/);
    expect(keyTemplateProblem('attachments/{jobId}/{fileName}', lanes)).toBeUndefined();
  });
});

describe('buildLanes', () => {
  it('never makes an archive lane that overlaps a system lane, and names every setting it refuses', () => {
    fc.assert(
      fc.property(
        fc.array(composed, { maxLength: 3 }),
        fc.array(hostile, { maxLength: 3 }),
        fc.constantFrom('jobs/', 'reports', '/jobs/', 'attachments/', ''),
        (templates, extra, reportPrefix) => {
          const built = buildLanes({ templates, extraArchive: extra, reportPrefix });
          for (const a of built.lanes.archive) {
            expect(a.endsWith('/')).toBe(true);
            for (const s of built.lanes.system) {
              expect(a.startsWith(s.prefix) || s.prefix.startsWith(a)).toBe(false);
            }
          }
          for (const p of built.problems) expect(p.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a template or prefix in a system lane and an empty report prefix', () => {
    const { problems } = buildLanes({
      templates: ['jobs/{fileId}', 'attachments/{fileId}'],
      extraArchive: ['manifests', 'sync/x', 'ok/'],
      reportPrefix: '/',
    });
    expect(problems.join('\n')).toMatch(/jobs\/\{fileId\}.*system lane "jobs\/"/);
    expect(problems.join('\n')).toMatch(/"manifests\/" overlaps the system lane "manifests\/"/);
    expect(problems.join('\n')).toMatch(/"sync\/x\/" overlaps the system lane "sync\/"/);
    expect(problems.join('\n')).toMatch(/report prefix must name a folder/);
  });
});

describe('JobTargets', () => {
  const ref = fc.record({
    id: fc.constantFrom('F1', 'F2', 'F3', 'F 4'),
    key: fc.constantFrom('k1', 'k2'),
    targetKey: fc.constantFrom(
      'attachments/a.pdf',
      'attachments/b.pdf',
      'jobs/j/job.json',
      'sync/state.json',
    ),
  });

  it('hands each object key to one file; later files on it are refused naming the line that holds it', () => {
    fc.assert(
      fc.property(fc.array(ref, { maxLength: 30 }), (refs) => {
        const targets = new JobTargets(lanes, 'attachments/{fileId}/{fileName}', 'job-1');
        const holder = new Map<string, { file: string; line: number }>();
        refs.forEach((r, i) => {
          const out = targets.check(r, i + 1);
          if ('refusal' in out) {
            assertNamedRefusal(out.refusal);
            if (out.refusal.code === 'target_key_conflict') {
              const held = holder.get(r.targetKey);
              expect(held).toBeDefined();
              expect(held?.file).not.toBe(refIdentity(r));
              expect(out.refusal.message).toContain(`line ${held?.line} `);
            } else expect(SYSTEM.some((s) => r.targetKey.startsWith(s))).toBe(true);
          } else if ('duplicate' in out) {
            expect(holder.get(r.targetKey)?.file).toBe(refIdentity(r));
          } else {
            expect(holder.has(out.objectKey)).toBe(false);
            holder.set(out.objectKey, { file: refIdentity(r), line: i + 1 });
            assertInLanes(out.objectKey);
          }
        });
      }),
      { numRuns: 1000 },
    );
  });
});
