import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_METRICS, METRICS_NAMESPACE } from '../../infra/constructs/observability.js';
import { CONFIG_ENV_KEYS, LOCAL_ONLY_ENV_KEYS, RUNTIME_ENV_KEYS } from '../../infra/env-keys.js';
import { type CfnJson, type CfnResource, synthTemplate } from './synth.js';

type Resource = CfnResource;
type Resources = Record<string, Resource>;

// One synth with real esbuild bundling (what `npm run synth` produces), shared by every test in this file.
let template: Template;
let resources: Resources;
beforeAll(() => {
  template = synthTemplate().template;
  resources = template.toJSON().Resources as Resources;
});

const ofType = (type: string): Array<[string, Resource]> =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

/** The four app functions (CDK's bucket-notification helper is a python custom resource). */
const appFunctions = (): Array<[string, Resource]> =>
  ofType('AWS::Lambda::Function').filter(([, r]) => String(r.Properties.Runtime).startsWith('nodejs'));

const functionByDescription = (prefix: string): [string, Resource] => {
  const found = appFunctions().filter(([, r]) => String(r.Properties.Description).startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0]!;
};

const refOf = (v: unknown): string | undefined =>
  (v as { Ref?: string })?.Ref ?? (v as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];

/** Logical ids a CloudFormation value refers to (Ref / Fn::GetAtt anywhere inside). */
const refsIn = (v: unknown): string[] => {
  const out: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const id = refOf(x);
      if (id && !id.startsWith('AWS::')) out.push(id);
      for (const value of Object.values(x)) walk(value);
    }
  };
  walk(v);
  return out;
};

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every Allow statement of every inline policy, with the roles it is attached to. */
const statements = (): Array<{ roles: string[]; Action: string[]; Resource: unknown[] }> =>
  ofType('AWS::IAM::Policy').flatMap(([, p]) =>
    (p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((s) => s.Effect === 'Allow')
      .map((s) => ({
        roles: refsIn(p.Properties.Roles),
        Action: asArray(s.Action as string | string[]),
        Resource: asArray(s.Resource),
      })),
  );

const roleOf = (fn: Resource): string => refOf(fn.Properties.Role)!;

/** IAM's `*` and `?` wildcards as a whole-string regular expression. */
const wildcard = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * Whether some Allow statement lets `role` PutObject `key` in the stack's bucket, judged the way IAM does: the
 * action pattern matches s3:PutObject and a resource `<bucket ARN>/<pattern>` matches the key.
 */
function rolePuts(all: ReturnType<typeof statements>, role: string, key: string): boolean {
  return all.some(
    (s) =>
      s.roles.includes(role) &&
      s.Action.some((a) => wildcard(a).test('s3:PutObject')) &&
      s.Resource.some((r) => {
        if (r === '*') return true;
        const suffix = (r as CfnJson)?.['Fn::Join']?.[1]?.[1] as string | undefined;
        return suffix !== undefined && wildcard(suffix).test(`/${key}`);
      }),
  );
}

describe('EkbArchiveStack functions', () => {
  it('runs every app function on nodejs24.x, arm64, from an ESM bundle handler', () => {
    const fns = appFunctions();
    expect(fns).toHaveLength(5);
    for (const [, fn] of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.Code.S3Key).toMatch(/\.zip$/);
    }
  });

  it('gives each function its own log group with the configured retention', () => {
    const logGroupIds = new Set(ofType('AWS::Logs::LogGroup').map(([id]) => id));
    for (const [, fn] of appFunctions()) {
      const lg = refOf(fn.Properties.LoggingConfig?.LogGroup);
      expect(lg && logGroupIds.has(lg)).toBe(true);
    }
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const [, lg] of groups) expect(lg.Properties.RetentionInDays).toBe(90);
  });

  it('sizes memory and timeout per role: small API functions, a streaming-sized copy', () => {
    const [, resolve] = functionByDescription('POST /attachments');
    const [, jobs] = functionByDescription('POST /copy-jobs');
    const [, copy] = functionByDescription('SQS copy batches');
    expect(resolve.Properties.MemorySize).toBe(256);
    expect(resolve.Properties.Timeout).toBeLessThan(30);
    expect(jobs.Properties.Timeout).toBeLessThan(30);
    expect(copy.Properties.MemorySize).toBe(1769);
    expect(copy.Properties.Timeout).toBe(900);
  });

  it('sets only keys from infra/env-keys.ts, never local-only credentials, with source maps on', () => {
    const allowed = new Set<string>([...CONFIG_ENV_KEYS, ...RUNTIME_ENV_KEYS]);
    for (const [, fn] of appFunctions()) {
      const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
      for (const key of Object.keys(vars)) expect(allowed.has(key), key).toBe(true);
      for (const key of LOCAL_ONLY_ENV_KEYS) expect(vars).not.toHaveProperty(key);
      expect(vars.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(vars.EKB_BASE_URL).toBe('https://app.ekuaibao.com');
    }
  });

  it('tells the copy function its deadline margin and concurrency, and only 合思 callers the secret', () => {
    const [, copy] = functionByDescription('SQS copy batches');
    const vars = copy.Properties.Environment.Variables;
    expect(vars.EKB_DEADLINE_MARGIN_MS).toBe('30000');
    expect(vars.EKB_COPY_CONCURRENCY).toBe('8');
    const queue = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.RedrivePolicy)![1];
    expect(vars.EKB_MAX_RECEIVE_COUNT).toBe(String(queue.Properties.RedrivePolicy.maxReceiveCount));
    const [, jobs] = functionByDescription('POST /copy-jobs');
    expect(jobs.Properties.Environment.Variables).not.toHaveProperty('EKB_CREDENTIALS_SECRET');
    for (const prefix of ['POST /attachments', 'manifests/', 'SQS copy batches']) {
      const [, fn] = functionByDescription(prefix);
      expect(refOf(fn.Properties.Environment.Variables.EKB_CREDENTIALS_SECRET)).toBe(
        ofType('AWS::SecretsManager::Secret')[0]![0],
      );
    }
  });
});

describe('EkbArchiveStack API', () => {
  it('authorizes every route with IAM and has exactly the seven routes', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
      'GET /copy-jobs/{jobId}',
      'GET /copy-jobs/{jobId}/index',
      'GET /verify-jobs/{runId}',
      'POST /attachments/download-urls',
      'POST /copy-jobs',
      'POST /form-archives',
      'POST /verify-jobs',
    ]);
    for (const [, r] of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('logs access to a log group and throttles the default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });
});

describe('EkbArchiveStack queue', () => {
  /** The queue the copy function's event source reads (the verify queue has a DLQ of its own). */
  const copyQueue = (): Resource => {
    const [copyId] = functionByDescription('SQS copy batches');
    const mapping = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => refOf(m.Properties.FunctionName) === copyId,
    );
    expect(mapping).toHaveLength(1);
    const found = ofType('AWS::SQS::Queue').filter(
      ([id, q]) =>
        q.Properties.RedrivePolicy && refsIn(mapping[0]![1].Properties.EventSourceArn).includes(id),
    );
    expect(found).toHaveLength(1);
    return found[0]![1];
  };

  it('dead-letters after 5 receives, with visibility at least 6x the copy timeout', () => {
    const q = copyQueue();
    expect(q.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    const dlq = refOf(q.Properties.RedrivePolicy.deadLetterTargetArn)!;
    expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
    const [, copy] = functionByDescription('SQS copy batches');
    expect(q.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * copy.Properties.Timeout);
  });

  it('encrypts every queue and denies non-TLS access to each', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(5);
    const policies = ofType('AWS::SQS::QueuePolicy');
    for (const [id, q] of queues) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
      const tlsDeny = policies.some(
        ([, p]) =>
          refsIn(p.Properties.Queues).includes(id) &&
          p.Properties.PolicyDocument.Statement.some(
            (s: Record<string, CfnJson>) =>
              s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
          ),
      );
      expect(tlsDeny, id).toBe(true);
    }
  });

  it('drives copy with partial batch responses, a small batch and a concurrency cap', () => {
    const maps = ofType('AWS::Lambda::EventSourceMapping');
    expect(maps).toHaveLength(2);
    const [copyId] = functionByDescription('SQS copy batches');
    const copyMaps = maps.filter(([, m]) => refOf(m.Properties.FunctionName) === copyId);
    expect(copyMaps).toHaveLength(1);
    const [, m] = copyMaps[0]!;
    expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(m.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    expect(m.Properties.BatchSize).toBe(1);
  });
});

describe('EkbArchiveStack bucket', () => {
  const archiveBucket = (): [string, Resource] => {
    const found = ofType('AWS::S3::Bucket').filter(([, b]) => b.Properties.VersioningConfiguration);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('blocks public access, encrypts, versions and retains on delete', () => {
    const [, b] = archiveBucket();
    expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({ SSEAlgorithm: 'AES256' });
    expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(b.DeletionPolicy).toBe('Retain');
    expect(b.UpdateReplacePolicy).toBe('Retain');
  });

  it('aborts incomplete multipart uploads after 1 day', () => {
    const [, b] = archiveBucket();
    expect(b.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        Status: 'Enabled',
      }),
    );
  });

  it('denies non-TLS requests in its bucket policy and logs access to a separate bucket', () => {
    const [id, b] = archiveBucket();
    const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => refOf(p.Properties.Bucket) === id);
    expect(policy).toBeDefined();
    expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const logsBucket = refOf(b.Properties.LoggingConfiguration.DestinationBucketName)!;
    expect(logsBucket).not.toBe(id);
    expect(resources[logsBucket]?.Type).toBe('AWS::S3::Bucket');
  });

  it('starts fan-out on ObjectCreated under manifests/', () => {
    const [fanOutId] = functionByDescription('manifests/');
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'manifests/' }] } },
            LambdaFunctionArn: { 'Fn::GetAtt': [fanOutId, 'Arn'] },
          },
        ],
      },
    });
  });

  it('has no sync schedule while scheduleExpression is "off" (the default)', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('EkbArchiveStack secret and IAM', () => {
  it('creates a placeholder secret of the {appKey, appSecurity} shape, kept on delete', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [, s] = secrets[0]!;
    expect(s.Properties.Name).toBe('ekb-archive/credentials');
    expect(s.Properties.GenerateSecretString).toMatchObject({
      SecretStringTemplate: '{"appKey":""}',
      GenerateStringKey: 'appSecurity',
    });
    expect(s.DeletionPolicy).toBe('Retain');
  });

  it('lets only resolve, fan-out and copy read the secret', () => {
    const secretId = ofType('AWS::SecretsManager::Secret')[0]![0];
    const readers = new Set(
      statements()
        .filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')))
        .flatMap((s) => {
          expect(s.Resource.map(refOf)).toEqual([secretId]);
          return s.roles;
        }),
    );
    const expected = ['POST /attachments', 'manifests/', 'SQS copy batches'].map((p) =>
      roleOf(functionByDescription(p)[1]),
    );
    expect([...readers].sort()).toEqual(expected.sort());
  });

  it('grants no Resource "*" and scopes S3, SQS, logs and secret actions to this stack\'s resources', () => {
    const [bucketId] = ofType('AWS::S3::Bucket').find(([, b]) => b.Properties.VersioningConfiguration)!;
    const queueIds = ofType('AWS::SQS::Queue').map(([id]) => id);
    const logGroupIds = ofType('AWS::Logs::LogGroup').map(([id]) => id);
    const all = statements();
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      expect(s.Resource).not.toContain('*');
      const targets = s.Resource.flatMap(refsIn);
      const service = s.Action[0]!.split(':')[0];
      expect(s.Action.every((a) => a.startsWith(`${service}:`))).toBe(true);
      const allowedTargets = {
        s3: [bucketId],
        sqs: queueIds,
        logs: logGroupIds,
        secretsmanager: [ofType('AWS::SecretsManager::Secret')[0]![0]],
      }[service as string];
      expect(allowedTargets, `unexpected service ${service}`).toBeDefined();
      expect(targets.length).toBeGreaterThan(0);
      for (const t of targets) expect(allowedTargets).toContain(t);
    }
  });

  it("scopes each role's object writes and reads to the prefixes it works in", () => {
    /** Object ARNs as "<bucket>/suffix" for the statements carrying `action`, per function. */
    const objectScopes = (prefix: string, action: string): string[] => {
      const role = roleOf(functionByDescription(prefix)[1]);
      return statements()
        .filter((s) => s.roles.includes(role) && s.Action.includes(action))
        .flatMap((s) => s.Resource)
        .map((r) => (r as CfnJson)?.['Fn::Join']?.[1]?.[1] as string | undefined)
        .filter((suffix): suffix is string => suffix !== undefined)
        .sort();
    };
    expect(objectScopes('POST /attachments', 's3:PutObject')).toEqual([]);
    expect(objectScopes('POST /attachments', 's3:GetObject*')).toEqual([]);
    expect(objectScopes('POST /copy-jobs', 's3:PutObject')).toEqual([
      '/jobs/*',
      '/manifests/form-archives/*',
      '/verify/*',
    ]);
    expect(objectScopes('POST /copy-jobs', 's3:GetObject*')).toEqual([
      '/jobs/*',
      '/manifests/*',
      '/verify/*',
    ]);
    expect(objectScopes('manifests/', 's3:PutObject')).toEqual(['/jobs/*', '/sync/*']);
    expect(objectScopes('manifests/', 's3:GetObject*')).toEqual([
      '/forms/*/package.json',
      '/jobs/*',
      '/manifests/*',
      '/sync/*',
    ]);
    expect(objectScopes('SQS copy batches', 's3:PutObject')).toEqual([
      '/attachments/*',
      '/forms/*',
      '/jobs/*/batches/*',
      '/jobs/*/index/*',
    ]);
    expect(objectScopes('SQS copy batches', 's3:GetObject*')).toEqual(['/attachments/*', '/forms/*']);
  });

  it('lets the copy role write archived files and its own reports, never a job record, sync state or manifest', () => {
    const copy = roleOf(functionByDescription('SQS copy batches')[1]);
    const canPut = (key: string): boolean => rolePuts(statements(), copy, key);
    for (const key of [
      'sync/state.json',
      'sync/lock',
      'manifests/x.jsonl',
      'manifests/2026/june.csv',
      'jobs/20261124T101500Z-1a2b3c4d/job.json',
      'jobs/job.json',
      'hooks/x.json',
      'verify/run-1.json',
      'elsewhere/x.pdf',
      'attachments',
    ]) {
      expect(canPut(key), key).toBe(false);
    }
    for (const key of [
      'attachments/F1/发票.pdf',
      'forms/expense/B24000123/F1-发票.pdf',
      'jobs/20261124T101500Z-1a2b3c4d/batches/b00001.json',
      'jobs/20261124T101500Z-1a2b3c4d/index/files-00001.jsonl',
    ]) {
      expect(canPut(key), key).toBe(true);
    }
    // The checker itself tells the two apart on the other roles' grants.
    const jobsApi = roleOf(functionByDescription('POST /copy-jobs')[1]);
    expect(rolePuts(statements(), jobsApi, 'jobs/j/job.json')).toBe(true);
    expect(rolePuts(statements(), jobsApi, 'attachments/F1/x.pdf')).toBe(false);
  });

  it('archives form packages: the route goes to the jobs API, fan-out is told the sync mode and states', () => {
    const [jobsId] = functionByDescription('POST /copy-jobs');
    const route = ofType('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === 'POST /form-archives',
    );
    const integration = resources[String(route?.[1].Properties.Target['Fn::Join'][1][1].Ref)];
    expect(refsIn(integration?.Properties.IntegrationUri)).toContain(jobsId);
    const [, fanOut] = functionByDescription('manifests/');
    expect(fanOut.Properties.Environment.Variables).toMatchObject({
      EKB_SYNC_MODE: 'packages',
      EKB_PACKAGE_STATES: 'paid,archived',
    });
  });

  it('never grants object deletes and attaches no managed policies to app roles', () => {
    for (const s of statements()) {
      for (const a of s.Action) expect(a).not.toMatch(/^s3:(Delete|\*)/);
    }
    for (const [, fn] of appFunctions()) {
      expect(resources[roleOf(fn)]?.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('EkbArchiveStack observability', () => {
  const alarms = (): Resource[] => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a);

  it('alarms when the DLQ holds a message', () => {
    const q = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.RedrivePolicy)![1];
    const dlqId = refOf(q.Properties.RedrivePolicy.deadLetterTargetArn)!;
    const dlqAlarm = alarms().find(
      (a) =>
        a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        refsIn(a.Properties.Dimensions).includes(dlqId),
    );
    expect(dlqAlarm?.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('alarms on copy errors, API 5xx and throttles of every function, all notifying the alarm topic', () => {
    const [copyId] = functionByDescription('SQS copy batches');
    const all = alarms();
    expect(
      all.some(
        (a) => a.Properties.MetricName === 'Errors' && refsIn(a.Properties.Dimensions).includes(copyId),
      ),
    ).toBe(true);
    expect(
      all.some((a) => a.Properties.MetricName === '5xx' && a.Properties.Namespace === 'AWS/ApiGateway'),
    ).toBe(true);
    const throttled = all
      .filter((a) => a.Properties.MetricName === 'Throttles')
      .flatMap((a) => refsIn(a.Properties.Dimensions));
    expect(throttled.sort()).toEqual(
      appFunctions()
        .map(([id]) => id)
        .sort(),
    );
    const [topicId] = ofType('AWS::SNS::Topic')[0]!;
    for (const a of all) expect(refsIn(a.Properties.AlarmActions)).toEqual([topicId]);
  });

  it('puts the app metrics and the alarms on one dashboard', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = dashboards[0]![1].Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const json = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    const widgets = (
      JSON.parse(json) as { widgets: Array<{ type: string; properties: Record<string, CfnJson> }> }
    ).widgets;
    const expressions = widgets
      .flatMap((w) => (w.properties.metrics ?? []) as unknown[][])
      .flatMap((m) =>
        m.filter(
          (x): x is { expression: string } => typeof x === 'object' && x !== null && 'expression' in x,
        ),
      )
      .map((x) => x.expression);
    for (const metric of APP_METRICS) {
      expect(expressions).toContainEqual(
        expect.stringContaining(`Namespace="${METRICS_NAMESPACE}" MetricName="${metric}"`),
      );
    }
    const alarmWidget = widgets.find((w) => w.type === 'alarm');
    expect(alarmWidget?.properties.alarms).toHaveLength(ofType('AWS::CloudWatch::Alarm').length);
  });

  it('outputs the API URL, bucket, queue, DLQ and secret', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object);
    for (const name of ['ApiUrl', 'BucketName', 'QueueUrl', 'DeadLetterQueueUrl', 'CredentialsSecretArn']) {
      expect(outputs).toContain(name);
    }
  });
});
