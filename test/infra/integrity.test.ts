/**
 * The integrity side of the stack: Object Lock on the bucket only when asked (and then per object, no default
 * retention that would lock reports and state), the copy function told the retention and allowed to set it, the
 * checksum and tagging grants, and the verify function with its queue, its prefix and its alarms.
 */
import { describe, expect, it } from 'vitest';
import { type CfnJson, type CfnResource, synthTemplate } from './synth.js';

type Resources = Record<string, CfnResource>;

function synth(context: Record<string, unknown> = {}): Resources {
  return synthTemplate({ context, bundle: false }).template.toJSON().Resources as Resources;
}

const ofType = (r: Resources, type: string) => Object.entries(r).filter(([, x]) => x.Type === type);
const fnBy = (r: Resources, prefix: string): [string, CfnResource] => {
  const found = ofType(r, 'AWS::Lambda::Function').filter(([, f]) =>
    String(f.Properties.Description).startsWith(prefix),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
};
const refOf = (v: CfnJson): string | undefined => v?.Ref ?? v?.['Fn::GetAtt']?.[0];

/** The actions every Allow statement attached to the function's role grants, and on what. */
function grants(r: Resources, fn: CfnResource): Array<{ actions: string[]; resources: string }> {
  const role = refOf(fn.Properties.Role);
  return ofType(r, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as CfnJson[]).some((x) => refOf(x) === role))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as CfnJson[])
    .filter((s) => s.Effect === 'Allow')
    .map((s) => ({ actions: [s.Action].flat() as string[], resources: JSON.stringify(s.Resource) }));
}
const allows = (r: Resources, fn: CfnResource, action: string): string[] =>
  grants(r, fn)
    .filter((g) => g.actions.includes(action))
    .map((g) => g.resources);

const archiveBucket = (r: Resources): CfnResource =>
  ofType(r, 'AWS::S3::Bucket').find(([, b]) => b.Properties.VersioningConfiguration)![1];

const systemDeny = (r: Resources): CfnJson =>
  ofType(r, 'AWS::S3::BucketPolicy')
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as CfnJson[])
    .find((s) => s.Sid === 'SystemPrefixesStayUnlocked');

describe('Object Lock', () => {
  it('is off by default: no lock on the bucket, the copy function told off', () => {
    const r = synth();
    expect(archiveBucket(r).Properties.ObjectLockEnabled).toBeUndefined();
    expect(systemDeny(r)).toBeUndefined();
    const [, copy] = fnBy(r, 'SQS copy batches');
    expect(copy.Properties.Environment.Variables.EKB_OBJECT_LOCK_MODE).toBe('off');
  });

  it('when asked, enables Object Lock without a default retention and lets copy lock each archived file', () => {
    const r = synth({ objectLockMode: 'compliance', objectLockRetentionYears: 30 });
    const bucket = archiveBucket(r);
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    // A default retention would lock every version of jobs/, sync/ and manifests/ objects too.
    expect(bucket.Properties.ObjectLockConfiguration?.Rule).toBeUndefined();
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const [, copy] = fnBy(r, 'SQS copy batches');
    expect(copy.Properties.Environment.Variables).toMatchObject({
      EKB_OBJECT_LOCK_MODE: 'compliance',
      EKB_OBJECT_LOCK_YEARS: '30',
    });
    // The retention grant: on the objects copy writes.
    expect(allows(r, copy, 's3:PutObjectRetention').some((on) => on.includes('/*'))).toBe(true);
  });

  it('denies everyone a retention or legal hold in the system prefixes, so reports and state stay writable', () => {
    const deny = systemDeny(synth({ objectLockMode: 'governance' }));
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
    expect([...deny.Action].sort()).toEqual(['s3:PutObjectLegalHold', 's3:PutObjectRetention']);
    const text = JSON.stringify(deny.Resource);
    for (const prefix of ['/jobs/*', '/sync/*', '/manifests/*', '/verify/*']) expect(text).toContain(prefix);
    expect(text).not.toContain('/attachments/');
  });

  it('refuses a mode it does not know and a retention out of range, naming the keys', () => {
    expect(() => synth({ objectLockMode: 'forever', objectLockRetentionYears: 0 })).toThrow(
      /objectLockMode must be off, governance or compliance[\s\S]*objectLockRetentionYears/,
    );
  });

  it('leaves an imported bucket as it is, and still tells copy the retention to set', () => {
    const r = synth({ importExistingBucket: true, bucketName: 'acme-archive', objectLockMode: 'governance' });
    expect(ofType(r, 'AWS::S3::Bucket')).toEqual([]);
    expect(fnBy(r, 'SQS copy batches')[1].Properties.Environment.Variables.EKB_OBJECT_LOCK_MODE).toBe(
      'governance',
    );
  });
});

describe('checksums on the functions', () => {
  it("leaves the SDK's checksums on (no function is told to compute them only when required)", () => {
    const r = synth();
    for (const [, fn] of ofType(r, 'AWS::Lambda::Function').filter(([, f]) =>
      String(f.Properties.Runtime).startsWith('nodejs'),
    )) {
      const vars = fn.Properties.Environment.Variables as Record<string, string>;
      expect(vars).not.toHaveProperty('AWS_REQUEST_CHECKSUM_CALCULATION');
      expect(vars).not.toHaveProperty('AWS_ENDPOINT_URL_S3');
    }
  });

  it("lets copy tag a multipart object's version with its SHA-256 and read S3's checksum attributes", () => {
    const r = synth();
    const [, copy] = fnBy(r, 'SQS copy batches');
    for (const action of [
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging',
      's3:GetObjectTagging',
      's3:GetObjectAttributes',
    ]) {
      // Granted on the archive lanes (attachments/, forms/) and the function's own reports (grantPut's tagging)
      // only: never a job record, the sync's state or a manifest.
      expect(allows(r, copy, action).length, action).toBeGreaterThan(0);
      expect(
        allows(r, copy, action).every((on) =>
          [...on.matchAll(/"\/([^"]*)"/g)].every((m) =>
            /^(attachments\/|forms\/|jobs\/\*\/(batches|index)\/)/.test(m[1] ?? ''),
          ),
        ),
        action,
      ).toBe(true);
    }
  });
});

describe('verify in AWS', () => {
  it('runs the verify function from its own queue, one part a message, failed parts to a DLQ after 3', () => {
    const r = synth();
    const [verifyId, verify] = fnBy(r, 'SQS verify parts');
    const maps = ofType(r, 'AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => refOf(m.Properties.FunctionName) === verifyId,
    );
    expect(maps).toHaveLength(1);
    const [, m] = maps[0]!;
    expect(m.Properties).toMatchObject({ BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    const queueId = refOf(m.Properties.EventSourceArn)!;
    const queue = r[queueId]!;
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(3);
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * verify.Properties.Timeout);
    expect(refOf(verify.Properties.Environment.Variables.EKB_VERIFY_QUEUE_URL)).toBe(queueId);
    const [, jobs] = fnBy(r, 'POST /copy-jobs');
    expect(refOf(jobs.Properties.Environment.Variables.EKB_VERIFY_QUEUE_URL)).toBe(queueId);
    expect(allows(r, jobs, 'sqs:SendMessage').some((q) => q.includes(queueId))).toBe(true);
  });

  it('grants verify GetObjectAttributes and reads on the archive, and writes under verify/ only', () => {
    const r = synth();
    const [, verify] = fnBy(r, 'SQS verify parts');
    expect(allows(r, verify, 's3:GetObjectAttributes')).toHaveLength(1);
    expect(allows(r, verify, 's3:GetObject*').length).toBeGreaterThan(0);
    const writes = allows(r, verify, 's3:PutObject');
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain('/verify/*');
    for (const g of grants(r, verify)) for (const a of g.actions) expect(a).not.toMatch(/^s3:(Delete|\*)/);
  });

  it('alarms when a verify run finds a difference and when a verify part dead-letters', () => {
    const r = synth();
    const alarms = ofType(r, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'ObjectsDiffering',
        Namespace: 'EkbArchive',
        Dimensions: [{ Name: 'Function', Value: 'verify' }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    expect(alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(3);
  });
});
