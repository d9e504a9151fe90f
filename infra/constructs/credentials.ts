import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface EkbCredentialsProps {
  /** Secrets Manager name of the {"appKey","appSecurity"} secret. */
  secretName: string;
  /** Use an existing secret of that name instead of creating one. */
  importExisting: boolean;
}

/**
 * The 合思 app credentials. Created with a placeholder value (the real appKey/appSecurity come from the 合思
 * console and are put in after deploy, see the README), or imported by name. Only functions that call 合思 are
 * granted read.
 */
export class EkbCredentials extends Construct {
  readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: EkbCredentialsProps) {
    super(scope, id);
    if (props.importExisting) {
      this.secret = Secret.fromSecretNameV2(this, 'Secret', props.secretName);
      return;
    }
    const secret = new Secret(this, 'Secret', {
      secretName: props.secretName,
      description: '合思 (Ekuaibao) Open API app credentials for ekb-archive: {"appKey","appSecurity"}',
      // A placeholder of the right shape; appSecurity is random so the placeholder can never authenticate.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ appKey: '' }),
        generateStringKey: 'appSecurity',
        excludePunctuation: true,
      },
      // Credentials put in by hand survive a stack delete; redeploy with importExistingSecret=true to reuse them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        '合思 issues the app key and secret in its own console, so rotation is the manual runbook step in the README, not a Lambda rotation.',
    });
    this.secret = secret;
  }
}
