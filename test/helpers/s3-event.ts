/**
 * An S3 ObjectCreated event exactly as AWS delivers it to a Lambda, built by the same code the local stack uses to
 * turn s3rver's notifications into events (infra/local/embedded-s3.ts), so tests and `npm start` agree on the shape.
 */
import type { S3Event } from 'aws-lambda';
import { toS3EventRecord } from '../../infra/local/embedded-s3.js';

export function s3ObjectCreatedEvent(object: {
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  sequencer: string;
}): S3Event {
  const record = toS3EventRecord(
    {
      eventName: 'ObjectCreated:Put',
      eventTime: new Date().toISOString(),
      s3: {
        bucket: { name: object.bucket },
        object: { key: object.key, size: object.size, eTag: object.eTag, sequencer: object.sequencer },
      },
    },
    'us-east-1',
  );
  if (!record) throw new Error('toS3EventRecord refused an ObjectCreated:Put record');
  return { Records: [record] };
}
