/**
 * What SigV4 signs about a request's body. The signer hashes (SHA-256) every body it is handed whole, unless the
 * request already carries `x-amz-content-sha256`; S3 then checks the body against that value and refuses a
 * mismatch (XAmzContentSHA256Mismatch), so the signature covers the body either way.
 *
 * - A single PUT: the verifying transform has already hashed every byte of the body on its way in (that SHA-256 is
 *   the one stored in the object's metadata), so the signer is handed that hash instead of computing it again.
 * - A multipart part: nobody knows its SHA-256, and hashing each part only for the signature is a second pass
 *   over every byte. When something else already proves the part's bytes — TLS, or an S3 additional checksum on
 *   every part (CRC64NVME, checked by S3) — the part is sent `UNSIGNED-PAYLOAD`. Over plain http without
 *   checksums (a local S3-compatible store) parts stay signed: the signature is then their only check.
 */
import type { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

interface WithHeaders {
  headers: Record<string, string>;
}

const hasHeaders = (request: unknown): request is WithHeaders =>
  typeof request === 'object' &&
  request !== null &&
  typeof (request as { headers?: unknown }).headers === 'object';

/**
 * Signs `command`'s body by the SHA-256 the caller computed over exactly those bytes (hex), instead of letting the
 * signer hash the body again. A wrong value is refused by S3, never stored.
 */
export function signWithKnownSha256(command: PutObjectCommand, sha256Hex: string): PutObjectCommand {
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new Error('signWithKnownSha256: not a hex SHA-256');
  command.middlewareStack.add(
    (next) => async (args) => {
      if (hasHeaders(args.request)) args.request.headers[PAYLOAD_HASH_HEADER] = sha256Hex;
      return next(args);
    },
    { step: 'build', name: 'ekbKnownPayloadSha256', override: true },
  );
  return command;
}

/**
 * Sends every UploadPart of `client` `UNSIGNED-PAYLOAD` when `proven()` says the part's bytes are checked otherwise
 * (TLS, or S3 checksums on every part). Installed once per client; other commands are untouched.
 */
export function unsignedPartsWhen(client: S3Client, proven: () => Promise<boolean>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand' && hasHeaders(args.request) && (await proven())) {
        args.request.headers[PAYLOAD_HASH_HEADER] = UNSIGNED_PAYLOAD;
      }
      return next(args);
    },
    { step: 'build', name: 'ekbUnsignedParts', override: true },
  );
}

/** True when the client talks https (real S3, or any endpoint behind TLS). */
export async function usesTls(client: S3Client): Promise<boolean> {
  const endpoint = client.config.endpoint ? await client.config.endpoint() : undefined;
  return endpoint === undefined || endpoint.protocol === 'https:';
}
