/** Where the sandbox's download URLs live (one server stands in for every file host). */

/** Query-signed OSS URLs of downloadurls: `/oss/<fileId>/<fileName>?Expires&OSSAccessKeyId&Signature`. */
export const OSS_PREFIX = '/oss/';
/** DingTalk-drive (DP:) URLs: `/yundisk0/<base64url fileId>.file`, signed by headers. */
export const DP_PREFIX = '/yundisk0/';
/** OSS-style URLs of the form-package calls: `/files-dd/<key>?Expires&OSSAccessKeyId&Signature&security-token`. */
export const FILES_DD_PREFIX = '/files-dd/';
/** `?e=<deadline>&token=<ak>:<sig>` URLs of the form-package calls: `/vipimg/<key>`. */
export const VIPIMG_PREFIX = '/vipimg/';
