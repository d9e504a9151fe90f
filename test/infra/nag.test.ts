import { Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NagOutcome, synthWithNag } from './synth.js';

/** Every acknowledgement in the tree: where it sits, which rule, and why. */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  // The default synth, bundles and all, exactly as `npm run synth` runs it.
  let outcome: NagOutcome;
  beforeAll(() => {
    outcome = synthWithNag();
  });

  it('leaves no unacknowledged finding (error or warning) on the default stack', () => {
    expect(outcome.findings).toEqual([]);
    expect(outcome.error).toBeUndefined();
  });

  it('acknowledges each finding beside its construct with a one-sentence reason', () => {
    const acks = acknowledgements(outcome.app);
    expect(acks.length).toBeGreaterThan(0);
    const stackPaths = new Set(outcome.app.node.children.filter(Stack.isStack).map((s) => s.node.path));
    for (const ack of acks) {
      expect(stackPaths.has(ack.path), `${ack.id} acknowledged on a whole stack`).toBe(false);
      // cdk-nag 3's documented form ('AwsSolutions-S1'); aws-cdk-lib records it with an 'Annotation::' prefix.
      expect(ack.id.replace(/^Annotation::/, '')).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(ack.reason, ack.id).toMatch(/^\S[^\n]{20,}[.)]$/);
    }
  });

  it.each([
    ['a scheduled sync', { scheduleExpression: 'rate(1 hour)' }],
    [
      'an imported bucket and secret',
      { importExistingBucket: true, bucketName: 'acme-archive', importExistingSecret: true },
    ],
    ['X-Ray tracing', { tracing: true }],
    ['an alarm e-mail', { alarmEmail: 'ops@example.com' }],
    ['Object Lock', { objectLockMode: 'compliance', objectLockRetentionYears: 10 }],
  ])('leaves no unacknowledged finding with %s', (_label, context) => {
    const variant = synthWithNag({ context, bundle: false });
    expect(variant.findings).toEqual([]);
    expect(variant.error).toBeUndefined();
  });

  it('fails the synth and names the rule when a finding is not acknowledged', () => {
    const broken = synthWithNag({ bundle: false }, (stack) => {
      new Queue(stack, 'UnprotectedQueue');
    });
    expect(broken.findings).toContainEqual(
      expect.stringMatching(/AwsSolutions error AwsSolutions-SQS3 at EkbArchive\/UnprotectedQueue\/Resource/),
    );
    expect(broken.findings).toContainEqual(
      expect.stringMatching(/AwsSolutions-SQS4 at EkbArchive\/UnprotectedQueue/),
    );
    expect(broken.error).toMatch(/AwsSolutions-SQS3/);
  });
});
