import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../functions/config.js';
import { syncOptionsFromConfig } from '../../../../functions/core/sync/sync-options.js';

describe('syncOptionsFromConfig', () => {
  it('carries the sync settings from the environment, with the documented defaults', () => {
    const options = syncOptionsFromConfig(loadConfig({}));
    expect(options).toEqual({
      mode: 'packages',
      formTypes: ['expense', 'loan', 'payment', 'requisition', 'custom', 'receipt', 'permit'],
      overlapMinutes: 10,
      keyTemplate: 'forms/{formType}/{flowCode}/{fileId}-{fileName}',
    });
  });

  it('passes the configured subset, overlap, start date and the invocation’s time limits', () => {
    const signal = new AbortController().signal;
    const remainingMs = () => 42;
    const options = syncOptionsFromConfig(
      loadConfig({
        EKB_SYNC_FORM_TYPES: 'expense, loan',
        EKB_SYNC_OVERLAP_MINUTES: '15',
        EKB_SYNC_START_DATE: '2025-01-01',
        EKB_SYNC_OBJECT_KEY_TEMPLATE: 'f/{flowCode}/{fileName}',
      }),
      { remainingMs, signal },
    );
    expect(options).toEqual({
      mode: 'packages',
      formTypes: ['expense', 'loan'],
      overlapMinutes: 15,
      startDate: '2025-01-01',
      keyTemplate: 'f/{flowCode}/{fileName}',
      remainingMs,
      signal,
    });
  });
});
