import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_DOWNLOAD_HOSTS, loadConfig } from '../../functions/config.js';
import { CONFIG_ENV_KEYS, functionEnvironment } from '../../infra/env-keys.js';
import { CONTEXT_KEYS, settingsFromContext } from '../../infra/stack.js';
import { type CfnJson, type CfnResource, cdkJson, synthTemplate } from './synth.js';

type Resource = CfnResource;
const resourcesOf = (t: Template, type: string): Resource[] =>
  Object.values(t.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === type);

describe('infra/env-keys.ts', () => {
  it('lists exactly the keys functions/config.ts reads', () => {
    const read = new Set<string>();
    const spy = new Proxy({} as Record<string, string | undefined>, {
      get(_target, key) {
        if (typeof key === 'string') read.add(key);
        return undefined;
      },
    });
    loadConfig(spy);
    expect([...CONFIG_ENV_KEYS].sort()).toEqual([...read].sort());
  });

  it('refuses keys config.ts does not read and local-only credentials', () => {
    expect(() => functionEnvironment({ EKB_NOT_A_KEY: 'x' } as never)).toThrow(/EKB_NOT_A_KEY is not a key/);
    expect(() => functionEnvironment({ EKB_APP_SECURITY: 's3cret' } as never)).toThrow(/local use only/);
    expect(functionEnvironment({ EKB_BUCKET: 'b', EKB_SYNC_START_DATE: '' })).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      EKB_BUCKET: 'b',
    });
  });
});

describe('CDK context', () => {
  it('writes each default once: cdk.json repeats none, and an empty context gives the functions’ own', () => {
    for (const key of CONTEXT_KEYS) expect(cdkJson.context, key).not.toHaveProperty(key);
    const s = settingsFromContext(new App().node);
    const fromEnv = loadConfig({});
    for (const key of [
      'ekbBaseUrl',
      'resolveConcurrency',
      'copyConcurrency',
      'objectKeyTemplate',
      'syncObjectKeyTemplate',
      'allowedDownloadHosts',
      'syncFormTypes',
      'syncOverlapMinutes',
      'syncStartDate',
      'deadlineMarginMs',
      'logLevel',
    ] as const) {
      expect(s[key], key).toEqual(fromEnv[key]);
    }
    expect(s.allowedDownloadHosts).toEqual(DEFAULT_ALLOWED_DOWNLOAD_HOSTS);
    expect(s).toMatchObject({ stackName: 'EkbArchive', credentialsSecretName: 'ekb-archive/credentials' });
  });

  it('runs the TypeScript app without a build step', () => {
    expect(cdkJson.app).toBe('npx tsx infra/app.ts');
  });

  it('parses -c strings like cdk.json values', () => {
    const app = new App({
      context: { copyMaxConcurrency: '25', tracing: 'true', scheduleExpression: 'cron(0 2 * * ? *)' },
    });
    const s = settingsFromContext(app.node);
    expect(s.copyMaxConcurrency).toBe(25);
    expect(s.tracing).toBe(true);
    expect(s.scheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(s.allowedDownloadHosts).toEqual(DEFAULT_ALLOWED_DOWNLOAD_HOSTS);
  });

  it('reports every bad value at once', () => {
    const app = new App({
      context: {
        copyMaxConcurrency: 1,
        scheduleExpression: 'hourly',
        ekbBaseUrl: 'http://app.ekuaibao.com',
        logRetentionDays: 42,
        importExistingBucket: true,
        copyTimeoutSeconds: 1200,
      },
    });
    let message = '';
    try {
      settingsFromContext(app.node);
    } catch (e) {
      message = (e as Error).message;
    }
    for (const key of [
      'copyMaxConcurrency',
      'scheduleExpression',
      'ekbBaseUrl',
      'logRetentionDays',
      'importExistingBucket=true needs a bucketName',
      'copyTimeoutSeconds',
    ]) {
      expect(message).toContain(key);
    }
  });
});

describe('CDK context: lanes', () => {
  it('refuses a template or archive prefix that overlaps a system lane, naming it', () => {
    const app = new App({
      context: { objectKeyTemplate: 'jobs/{jobId}/{fileName}', archivePrefixes: 'sync/archive,scans' },
    });
    expect(() => settingsFromContext(app.node)).toThrow(
      /jobs\/\{jobId\}\/\{fileName\}.*system lane "jobs\/"/,
    );
    expect(() => settingsFromContext(app.node)).toThrow(
      /archive prefix "sync\/archive\/" overlaps the system lane "sync\/"/,
    );
  });

  it('grants the copy role the archive prefixes it is given, and tells every function', () => {
    const { template } = synthTemplate({ context: { archivePrefixes: 'scans/2024' }, bundle: false });
    const json = JSON.stringify(template.toJSON().Resources);
    expect(json).toContain('"/scans/2024/*"');
    for (const fn of resourcesOf(template, 'AWS::Lambda::Function').filter((f) =>
      String(f.Properties.Runtime).startsWith('nodejs'),
    )) {
      expect(fn.Properties.Environment.Variables.EKB_ARCHIVE_PREFIXES).toBe('scans/2024');
    }
  });
});

// Variants synthesize without esbuild: their bundles would be byte-identical to the default synth's.
describe('stack variants', () => {
  it('schedules the sync against fan-out when scheduleExpression is set', () => {
    const { template } = synthTemplate({ context: { scheduleExpression: 'rate(1 hour)' }, bundle: false });
    const [rule] = resourcesOf(template, 'AWS::Events::Rule');
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 hour)');
    const fanOut = Object.entries(template.toJSON().Resources as Record<string, Resource>).find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('manifests/'),
    )!;
    expect(rule?.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [fanOut[0], 'Arn'] });
  });

  it('uses an existing bucket and secret by name without creating or reconfiguring them', () => {
    const { template } = synthTemplate({
      context: {
        importExistingBucket: true,
        bucketName: 'acme-archive',
        importExistingSecret: true,
        credentialsSecretName: 'acme/ekb',
      },
      bundle: false,
    });
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const json = JSON.stringify(template.toJSON().Resources);
    expect(json).toContain(':s3:::acme-archive/manifests/*');
    expect(json).toContain(':secret:acme/ekb-??????');
    template.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: 'acme-archive' });
  });

  it('with tracing, allows Resource "*" only for the X-Ray actions that require it', () => {
    const { template } = synthTemplate({ context: { tracing: true }, bundle: false });
    const starStatements = resourcesOf(template, 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, CfnJson>>)
      .filter((s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')));
    // One per app function (X-Ray's two actions take no resource), none else.
    expect(starStatements.length).toBe(5);
    for (const s of starStatements) {
      expect([s.Action].flat().sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
    for (const fn of resourcesOf(template, 'AWS::Lambda::Function').filter((f) =>
      String(f.Properties.Runtime).startsWith('nodejs'),
    )) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });
});
