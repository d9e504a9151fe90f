/**
 * Synthesis helpers for the infra tests: the app exactly as infra/app.ts builds it, with cdk.json's context
 * (feature flags and defaults) plus per-test overrides.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EkbArchiveStack, settingsFromContext } from '../../infra/stack.js';

export const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

export interface SynthOptions {
  /** Context on top of cdk.json's. */
  context?: Record<string, unknown>;
  /**
   * false skips esbuild (CDK's `aws:cdk:bundling-stacks` = []) for variants whose bundles would be identical to
   * the default synth's; keeps the suite fast.
   */
  bundle?: boolean;
  /** Register the AwsSolutions pack, as infra/app.ts does. */
  nag?: boolean;
}

export function buildApp(options: SynthOptions = {}): { app: App; stack: EkbArchiveStack; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'ekb-cdk-'));
  const app = new App({
    outdir,
    context: {
      ...cdkJson.context,
      ...options.context,
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });
  const settings = settingsFromContext(app.node);
  const stack = new EkbArchiveStack(app, settings.stackName, { settings });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, outdir };
}

export function synthTemplate(options: SynthOptions = {}): { template: Template; stack: EkbArchiveStack } {
  const { stack } = buildApp(options);
  return { template: Template.fromStack(stack), stack };
}

export interface NagOutcome {
  /** Each unacknowledged finding as "rule at construct path". */
  findings: string[];
  /** The synth error, when validation stopped it. */
  error: string | undefined;
  app: App;
}

/** Synthesizes with the AwsSolutions pack and collects every finding left (errors and warnings alike). */
export function synthWithNag(
  options: Omit<SynthOptions, 'nag'> = {},
  extend?: (stack: EkbArchiveStack) => void,
): NagOutcome {
  const { app, stack, outdir } = buildApp({ ...options, nag: true });
  extend?.(stack);
  let error: string | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{
        ruleName: string;
        severity: string;
        violatingConstructs: Array<{ constructPath: string }>;
      }>;
    }>;
  };
  const findings = report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${p.pluginName} ${v.severity} ${v.ruleName} at ${c.constructPath}`),
    ),
  );
  return { findings, error, app };
}

/**
 * Synthesized CloudFormation is untyped JSON; the tests walk it with property paths and assert on the values, so
 * a failed lookup fails the assertion rather than the compile.
 */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON has no static shape.
export type CfnJson = any;

export interface CfnResource {
  Type: string;
  Properties: Record<string, CfnJson>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
