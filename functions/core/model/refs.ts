/**
 * Refs: what 合思 needs to find a file, and what travels through queues and manifests on its way to the bucket.
 * Queue messages carry refs, never a signed URL: a retried message can reappear after the URL died; the copy worker
 * resolves right before it downloads.
 */

/** What 合思 needs to find a file: the `fileId` and the storage `key`, sent back byte for byte. */
export interface AttachmentRef {
  id: string;
  key: string;
}

/** The JSON inside a DingTalk-drive key: `DP:{"fileId","fileName","fileSize","fileType","spaceId"}`. */
export interface DpKeyInfo {
  fileId?: string;
  fileName?: string;
  fileSize?: number;
  fileType?: string;
  spaceId?: string;
}

/** A ref on its way to the bucket. */
export interface CopyRef extends AttachmentRef {
  /** Original file name, when the source knows it (form attachment, manifest column). */
  fileName?: string;
  /** Exact object key to write; overrides the template. Validated like any generated key. */
  targetKey?: string;
  /** Extra template values from the source, e.g. flowCode, flowId, formType for scheduled sync. */
  vars?: Record<string, string>;
}
