import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { cdkBundlingOptions, entryPath, type FunctionName, LOCK_FILE, PROJECT_ROOT } from '../bundling.js';

export interface ArchiveFunctionProps {
  name: FunctionName;
  description: string;
  memorySize: number;
  timeout: Duration;
  /** Built with functionEnvironment() from infra/env-keys.ts. */
  environment: Record<string, string>;
  logRetention: RetentionDays;
  tracing: boolean;
}

/**
 * One function of the app: Node 24 on ARM64, an ESM bundle from the local esbuild, its own log group with
 * retention, and its own role that starts with nothing but writing to that log group. Every other permission is a
 * grant* by the caller.
 */
export class ArchiveFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ArchiveFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Logs are operational, not the archive: they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `ekb-archive ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Function', {
      entry: entryPath(props.name),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      bundling: cdkBundlingOptions(),
    });
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so AWS requires "*".',
      });
    }
  }
}
