import { describe, expect, it } from 'vitest';
import { isDpKey, parseDpKey, refIdentity } from '../../../../functions/core/attachments/ref.js';
import { ValidationError } from '../../../../functions/core/errors.js';

describe('parseDpKey', () => {
  it("reads the vendor's DP: example into name, type and size", () => {
    const key =
      'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}';
    expect(isDpKey(key)).toBe(true);
    expect(parseDpKey(key)).toEqual({
      fileId: '136634437985',
      fileName: '128163bbba83.jpg',
      fileSize: 2985928,
      fileType: 'jpg',
      spaceId: '7215288789',
    });
  });

  it('answers undefined for ordinary keys', () => {
    expect(parseDpKey('openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx')).toBeUndefined();
  });

  it('rejects broken JSON and non-objects with a ValidationError', () => {
    expect(() => parseDpKey('DP:{"fileId":')).toThrow(ValidationError);
    expect(() => parseDpKey('DP:[1,2]')).toThrow(ValidationError);
    expect(() => parseDpKey('DP:null')).toThrow(ValidationError);
  });

  it('ignores fields of the wrong type instead of converting them (an object with a hostile toString)', () => {
    expect(parseDpKey('DP:{"fileId":{"toString":false},"fileSize":-1,"fileName":7}')).toEqual({});
    expect(parseDpKey('DP:{"fileId":12,"fileSize":"42"}')).toEqual({ fileId: '12', fileSize: 42 });
  });
});

describe('refIdentity', () => {
  it('tells refs apart by id and key together', () => {
    expect(refIdentity({ id: 'a', key: 'b' })).not.toBe(refIdentity({ id: 'a', key: 'c' }));
    expect(refIdentity({ id: 'ab', key: 'c' })).not.toBe(refIdentity({ id: 'a', key: 'bc' }));
    expect(refIdentity({ id: 'a', key: 'b' })).toBe(refIdentity({ id: 'a', key: 'b' }));
  });
});
