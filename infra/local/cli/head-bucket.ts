/** HeadBucket with the CLI's S3 client: its own module so preflight loads the AWS SDK only when it checks a bucket. */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../../../functions/compose/storage.js';
import type { CliContext } from './context.js';

export async function headBucket(ctx: CliContext, bucket: string): Promise<void> {
  await s3Client(ctx.composition()).send(new HeadBucketCommand({ Bucket: bucket }), {
    abortSignal: ctx.signal,
  });
}
