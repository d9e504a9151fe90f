/**
 * The one S3Client factory. Configuration is the AWS SDK's own: region, the credential chain and
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL come from the standard environment, so the same code writes to AWS S3,
 * MinIO, R2 or the embedded store.
 *
 * The SDK's default checksums send stream bodies `aws-chunked`; S3-compatible servers such as s3rver store that
 * framing as the object (silent corruption). So against any custom endpoint checksums are sent only when an
 * operation requires them, unless the user set AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION
 * explicitly. Against real S3 the defaults (CRC32 on every upload) stay on.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

type Env = Record<string, string | undefined>;

export interface S3ClientOptions extends S3ClientConfig {
  /** Defaults to process.env; tests pass their own. */
  env?: Env;
}

/** The endpoint the client will use when it is not AWS's own, or undefined. */
export function customS3Endpoint(options: S3ClientOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  if (typeof options.endpoint === 'string') return options.endpoint;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const { env: envOption, ...config } = options;
  const env = envOption ?? process.env;
  const endpoint = customS3Endpoint(options);
  if (endpoint !== undefined) {
    config.endpoint ??= endpoint;
    // Most S3-compatible servers (and s3rver) do not serve virtual-hosted bucket names on 127.0.0.1.
    config.forcePathStyle ??= true;
    if (!env.AWS_REQUEST_CHECKSUM_CALCULATION) config.requestChecksumCalculation ??= 'WHEN_REQUIRED';
    if (!env.AWS_RESPONSE_CHECKSUM_VALIDATION) config.responseChecksumValidation ??= 'WHEN_REQUIRED';
  }
  // The SDK adds `Expect: 100-continue` to bodies of 2 MiB and more, and its HTTP handler sends each such request on
  // a fresh connection (its keep-alive agent is bypassed for them): every part of a multipart upload and every
  // mid-size file paid a TCP (and on AWS a TLS) handshake plus a round trip before its first byte. Our PUTs are
  // signed, bounded (≤ one part) and rarely refused, so the connections stay warm instead.
  config.expectContinueHeader ??= false;
  return new S3Client(config);
}
