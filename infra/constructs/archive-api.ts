import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcards } from './nag.js';

export interface ArchiveApiProps {
  resolve: IFunction;
  jobsApi: IFunction;
  /** Stage-wide steady rate (requests/s) and burst. */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetention: RetentionDays;
}

/** The routes; every one is IAM-authorized (SigV4), none is anonymous. */
export const API_ROUTES = [
  { method: HttpMethod.POST, path: '/attachments/download-urls', target: 'resolve' },
  { method: HttpMethod.POST, path: '/copy-jobs', target: 'jobsApi' },
  { method: HttpMethod.GET, path: '/copy-jobs/{jobId}', target: 'jobsApi' },
  { method: HttpMethod.POST, path: '/form-archives', target: 'jobsApi' },
  { method: HttpMethod.GET, path: '/copy-jobs/{jobId}/index', target: 'jobsApi' },
  { method: HttpMethod.POST, path: '/verify-jobs', target: 'jobsApi' },
  { method: HttpMethod.GET, path: '/verify-jobs/{runId}', target: 'jobsApi' },
] as const;

/**
 * API Gateway HTTP API. IAM is the default authorizer, so a route added later is IAM-authorized unless someone
 * opts out on purpose. Access logs are JSON, without query strings or headers (no signed-URL material).
 */
export class ArchiveApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Attach to the roles or users that may call the API. */
  readonly invokePolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: ArchiveApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'HttpApi', {
      description:
        'ekb-archive: resolve 合思 attachment download URLs, start and read copy jobs, archive forms',
      defaultAuthorizer: new HttpIamAuthorizer(),
      // The default stage is created below, with access logs and throttling the shortcut cannot set.
      createDefaultStage: false,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            caller: '$context.identity.userArn',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integration.status',
            integrationLatencyMs: '$context.integration.latency',
            error: '$context.error.message',
          }),
        ),
      },
    });

    const targets = {
      resolve: new HttpLambdaIntegration('ResolveIntegration', props.resolve),
      jobsApi: new HttpLambdaIntegration('JobsApiIntegration', props.jobsApi),
    };
    for (const route of API_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration: targets[route.target] });
    }

    const invoke = new PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: API_ROUTES.map((r) =>
        this.api.arnForExecuteApi(r.method, r.path.replace(/\{[^}]+\}/g, '*'), '$default'),
      ),
    });
    this.invokePolicy = new ManagedPolicy(this, 'InvokePolicy', {
      description: 'Call the ekb-archive HTTP API (execute-api:Invoke on its routes)',
      statements: [invoke],
    });
    acknowledgeWildcards(
      this.invokePolicy,
      [invoke],
      'GET /copy-jobs/{jobId}(/index) and GET /verify-jobs/{runId} take any id, so those route ARNs hold a path wildcard.',
    );
  }
}
