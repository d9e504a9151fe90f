import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_DOWNLOAD_HOSTS, lanesOf, loadConfig } from '../../functions/config.js';
import { ValidationError } from '../../functions/core/errors.js';
import { FORM_TYPES } from '../../functions/core/model/forms.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      ekbBaseUrl: 'https://app.ekuaibao.com',
      resolveConcurrency: 4,
      ekbMaxAttempts: 4,
      resolveMaxRefs: 5000,
      copyConcurrency: 8,
      partSizeBytes: 8 * 1024 * 1024,
      partConcurrency: 4,
      objectKeyTemplate: 'attachments/{fileId}/{fileName}',
      syncObjectKeyTemplate: 'forms/{formType}/{flowCode}/{fileId}-{fileName}',
      reportPrefix: 'jobs/',
      allowInsecureDownloads: false,
      syncOverlapMinutes: 10,
      maxReceiveCount: 5,
      logLevel: 'info',
    });
    expect(c.allowedDownloadHosts).toEqual(DEFAULT_ALLOWED_DOWNLOAD_HOSTS);
    expect(c.syncFormTypes).toEqual([...FORM_TYPES]);
    expect(c.ekbAppKey).toBeUndefined();
    expect(c.bucket).toBeUndefined();
  });

  it('reads and trims values, drops a trailing slash from the base URL and splits lists', () => {
    const c = loadConfig({
      EKB_BASE_URL: ' https://dd2.hosecloud.com/ ',
      EKB_COPY_CONCURRENCY: '16',
      EKB_PART_SIZE_MB: '64',
      EKB_ALLOWED_DOWNLOAD_HOSTS: 'files.example.com, *.oss.example.com ,',
      EKB_ALLOW_INSECURE_DOWNLOADS: 'yes',
      EKB_SYNC_FORM_TYPES: 'expense,loan',
      EKB_BUCKET: 'archive',
      LOG_LEVEL: 'DEBUG',
    });
    expect(c.ekbBaseUrl).toBe('https://dd2.hosecloud.com');
    expect(c.copyConcurrency).toBe(16);
    expect(c.partSizeBytes).toBe(64 * 1024 * 1024);
    expect(c.allowedDownloadHosts).toEqual(['files.example.com', '*.oss.example.com']);
    expect(c.allowInsecureDownloads).toBe(true);
    expect(c.syncFormTypes).toEqual(['expense', 'loan']);
    expect(c.bucket).toBe('archive');
    expect(c.logLevel).toBe('debug');
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ EKB_COPY_CONCURRENCY: '  ', EKB_BUCKET: '' })).toMatchObject({
      copyConcurrency: 8,
      bucket: undefined,
    });
  });

  it('reports every bad key at once, naming each and what it got', () => {
    let caught: unknown;
    try {
      loadConfig({
        EKB_BASE_URL: 'ftp://example.com',
        EKB_COPY_CONCURRENCY: '0',
        EKB_RESOLVE_CONCURRENCY: '2.5',
        EKB_ALLOW_INSECURE_DOWNLOADS: 'maybe',
        EKB_SYNC_FORM_TYPES: 'expense,travel',
        EKB_SYNC_START_DATE: 'yesterday-ish',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const message = (caught as Error).message;
    for (const part of [
      'EKB_BASE_URL must be an http(s) URL (got "ftp://example.com")',
      'EKB_COPY_CONCURRENCY must be an integer from 1 to 64 (got "0")',
      'EKB_RESOLVE_CONCURRENCY must be an integer from 1 to 32 (got "2.5")',
      'EKB_ALLOW_INSECURE_DOWNLOADS must be true or false (got "maybe")',
      'EKB_SYNC_FORM_TYPES may list only',
      '(got "travel")',
      'EKB_SYNC_START_DATE must be a date',
      'LOG_LEVEL must be debug, info, warn or error (got "loud")',
    ]) {
      expect(message).toContain(part);
    }
  });

  it('builds the lanes from the templates and EKB_ARCHIVE_PREFIXES', () => {
    const c = loadConfig({ EKB_ARCHIVE_PREFIXES: 'scans, /old-archive/ ' });
    expect(c.archivePrefixes).toEqual(['scans', '/old-archive/']);
    expect(lanesOf(c).archive).toEqual(['attachments/', 'forms/', 'scans/', 'old-archive/']);
    expect(lanesOf(c).system.map((s) => s.prefix)).toEqual([
      'jobs/',
      'sync/',
      'manifests/',
      'hooks/',
      'verify/',
    ]);
  });

  it('refuses templates and archive prefixes that overlap a system lane, with every other bad key', () => {
    let caught: unknown;
    try {
      loadConfig({
        EKB_OBJECT_KEY_TEMPLATE: 'jobs/{jobId}/{fileName}',
        EKB_SYNC_OBJECT_KEY_TEMPLATE: 'forms/{fileName',
        EKB_ARCHIVE_PREFIXES: 'manifests/in',
        EKB_COPY_CONCURRENCY: '0',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const message = (caught as Error).message;
    expect(message).toContain(
      '"jobs/{jobId}/{fileName}": key template root "jobs/" is in the system lane "jobs/"',
    );
    expect(message).toContain('"forms/{fileName": key template has an unclosed \'{\'');
    expect(message).toContain('archive prefix "manifests/in/" overlaps the system lane "manifests/"');
    expect(message).toContain('EKB_COPY_CONCURRENCY must be an integer');
  });
});
