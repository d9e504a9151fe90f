/**
 * CDK entry (cdk.json runs it with tsx, no build step). Synthesizes offline: no lookups, and the stack is
 * environment-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are known (they are when credentials are configured).
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EkbArchiveStack, settingsFromContext } from './stack.js';

const app = new App();
const settings = settingsFromContext(app.node);
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

new EkbArchiveStack(app, settings.stackName, {
  settings,
  description: 'ekb-archive: archive 合思 (Ekuaibao) attachments into S3',
  ...(account && region ? { env: { account, region } } : {}),
});
Tags.of(app).add('project', 'ekb-archive');
// AwsSolutions findings fail the synth; each acknowledgement sits beside its construct with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
