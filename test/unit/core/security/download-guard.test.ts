import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_DOWNLOAD_HOSTS } from '../../../../functions/config.js';
import { AppError } from '../../../../functions/core/errors.js';
import {
  createDownloadGuard,
  DOWNLOAD_DNS_FAILED,
  DOWNLOAD_HOST_NOT_ALLOWED,
  parseHostRule,
} from '../../../../functions/core/security/download-guard.js';
import { classifyAddress, embeddedIpv4 } from '../../../../functions/core/security/ip-ranges.js';

const strict = createDownloadGuard({ allowedHosts: DEFAULT_ALLOWED_DOWNLOAD_HOSTS, allowInsecure: false });
const insecure = createDownloadGuard({ allowedHosts: DEFAULT_ALLOWED_DOWNLOAD_HOSTS, allowInsecure: true });

async function refusal(guard: typeof strict, url: string): Promise<AppError | undefined> {
  try {
    await guard.checkUrl(url);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
}

const SIG = 'Expires=1599099810&OSSAccessKeyId=STS.NUT&Signature=wTRfcimdrHhXbL3efe8MftOSOmo%3D';

describe('createDownloadGuard (strict, the AWS mode)', () => {
  it.each([
    `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/openapi0306-kotlin.docx?${SIG}`,
    'https://sh-dualstack.trans.dingtalk.com/yundisk0/iAEIAqRmaWxl.file',
    'https://vipimg.ekuaibao.com/a.png',
    'https://files-dd.ekuaibao.com/a.png',
    'https://dd2.hosecloud.com/x',
    'https://EKUAIBAO.OSS-CN-HANGZHOU.ALIYUNCS.COM/upper',
    'https://ekuaibao.oss-cn-hangzhou.aliyuncs.com./trailing-dot',
    'https://a.b.c.aliyuncs.com:443/default-port-spelled-out',
    'https://bücher.aliyuncs.com/idn-under-an-allowed-domain',
  ])('allows %s', async (url) => {
    await expect(strict.checkUrl(url)).resolves.toBeUndefined();
  });

  it.each([
    ['http://ekuaibao.oss-cn-hangzhou.aliyuncs.com/x', 'scheme http: is not https'],
    ['ftp://ekuaibao.oss-cn-hangzhou.aliyuncs.com/x', 'scheme ftp: is not https'],
    ['file:///etc/passwd', 'scheme file: is not https'],
    ['https://evil.example.com/x', 'not on the allow-list'],
    ['https://aliyuncs.com/x', 'not on the allow-list'], // the wildcard means subdomains only
    ['https://aliyuncs.com.evil.com/x', 'not on the allow-list'],
    ['https://evilaliyuncs.com/x', 'not on the allow-list'],
    ['https://x.aliyuncs.com.evil.com./x', 'not on the allow-list'],
    ['https://x.aliyuncs.com%2f.evil.com/x', 'invalid'],
    ['https://evil@x.aliyuncs.com/x', 'the URL carries credentials'],
    ['https://x.aliyuncs.com:pw@evil.com/x', 'the URL carries credentials'],
    ['https://x.aliyuncs.com@evil.com/x', 'the URL carries credentials'],
    ['https://x.aliyuncs.com:8443/x', 'port 8443 is not the default'],
    ['https://xn--80ak6aa92e.com/x', 'not on the allow-list'], // punycode of a look-alike
    ['https://аliyuncs.com/x', 'not on the allow-list'], // Cyrillic "а"
    ['https://127.0.0.1/x', 'loopback address'],
    ['https://2130706433/x', 'loopback address'], // decimal 127.0.0.1
    ['https://0x7f000001/x', 'loopback address'],
    ['https://0177.0.0.1/x', 'loopback address'], // octal
    ['https://127.1/x', 'loopback address'],
    ['https://0/x', 'private or reserved address'], // 0.0.0.0
    ['https://10.0.0.8/x', 'private or reserved address'],
    ['https://172.31.255.255/x', 'private or reserved address'],
    ['https://192.168.1.1/x', 'private or reserved address'],
    ['https://100.64.0.1/x', 'private or reserved address'], // CGNAT
    ['https://169.254.169.254/latest/meta-data/', 'link-local/metadata address'],
    ['https://0xa9fea9fe/latest/meta-data/', 'link-local/metadata address'], // hex 169.254.169.254
    ['https://[::1]/x', 'loopback address'],
    ['https://[::]/x', 'private or reserved address'],
    ['https://[::ffff:127.0.0.1]/x', 'loopback address'], // IPv4-mapped
    ['https://[::ffff:a9fe:a9fe]/x', 'link-local/metadata address'],
    ['https://[fd00::1]/x', 'private or reserved address'],
    ['https://[fd00:ec2::254]/x', 'link-local/metadata address'], // EC2 IMDS over IPv6
    ['https://[fe80::1]/x', 'link-local/metadata address'],
    ['https://[64:ff9b::a00:1]/x', 'private or reserved address'], // NAT64 of 10.0.0.1
    ['https://[2002:7f00:1::]/x', 'loopback address'], // 6to4 of 127.0.0.1
    ['https://8.8.8.8/x', 'not on the allow-list'], // public, but not listed
    ['not a url', 'not a valid URL'],
  ])('refuses %s (%s)', async (url, reason) => {
    const err = await refusal(strict, url);
    expect(err?.code).toBe(DOWNLOAD_HOST_NOT_ALLOWED);
    expect(err?.retryable).toBe(false);
    if (reason !== 'invalid') expect(err?.message).toContain(reason);
  });

  it('names the host but never the path or query in its message', async () => {
    const err = await refusal(strict, `https://evil.example.com/secret/path.pdf?${SIG}&accessToken=ID01x:Ts`);
    expect(err?.message).toBe('download host evil.example.com is not allowed: not on the allow-list');
    expect(err?.message).not.toMatch(/Signature|Expires|accessToken|secret|path\.pdf/);
  });

  it('refuses a listed IP literal that is private, but allows a listed public one', async () => {
    const guard = createDownloadGuard({ allowedHosts: ['10.1.2.3', '203.0.114.7'], allowInsecure: false });
    expect((await refusal(guard, 'https://10.1.2.3/x'))?.code).toBe(DOWNLOAD_HOST_NOT_ALLOWED);
    await expect(guard.checkUrl('https://203.0.114.7/x')).resolves.toBeUndefined();
  });
});

describe('createDownloadGuard with DNS (resolveHost)', () => {
  const withDns = (table: Record<string, string[]>) =>
    createDownloadGuard({
      allowedHosts: DEFAULT_ALLOWED_DOWNLOAD_HOSTS,
      allowInsecure: false,
      resolveHost: async (host) => {
        const answer = table[host];
        if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return answer;
      },
    });

  it('allows a listed host whose every address is public', async () => {
    const guard = withDns({ 'a.aliyuncs.com': ['47.96.1.2', '2408:4000::1'] });
    await expect(guard.checkUrl('https://a.aliyuncs.com/x')).resolves.toBeUndefined();
  });

  it.each([
    [['127.0.0.1'], 'resolves to a loopback address'],
    [['47.96.1.2', '10.0.0.5'], 'resolves to a private or reserved address'],
    [['169.254.169.254'], 'resolves to a link-local/metadata address'],
    [['::ffff:192.168.0.1'], 'resolves to a private or reserved address'],
    [['fd00::5'], 'resolves to a private or reserved address'],
  ])('refuses a listed host that resolves to %j', async (addresses, reason) => {
    const guard = withDns({ 'a.aliyuncs.com': addresses });
    const err = await refusal(guard, 'https://a.aliyuncs.com/x');
    expect(err?.code).toBe(DOWNLOAD_HOST_NOT_ALLOWED);
    expect(err?.message).toBe(`download host a.aliyuncs.com is not allowed: ${reason}`);
  });

  it('does not resolve hosts that are not on the list', async () => {
    let asked = 0;
    const guard = createDownloadGuard({
      allowedHosts: ['*.aliyuncs.com'],
      allowInsecure: false,
      resolveHost: async () => {
        asked += 1;
        return ['47.96.1.2'];
      },
    });
    expect((await refusal(guard, 'https://evil.example.com/x'))?.code).toBe(DOWNLOAD_HOST_NOT_ALLOWED);
    expect(asked).toBe(0);
  });

  it('reports a resolver failure as retryable download_dns_failed naming only the host', async () => {
    const err = await refusal(withDns({}), `https://gone.aliyuncs.com/x?${SIG}`);
    expect(err?.code).toBe(DOWNLOAD_DNS_FAILED);
    expect(err?.retryable).toBe(true);
    expect(err?.message).toBe('cannot resolve download host gone.aliyuncs.com');
  });
});

describe('createDownloadGuard (allowInsecure: local stack and tests)', () => {
  it.each([
    'http://127.0.0.1:41234/download/x?Signature=abc',
    'http://localhost:8080/x',
    'http://[::1]:9000/x',
    'https://ekuaibao.oss-cn-hangzhou.aliyuncs.com:8443/x',
    'http://ekuaibao.oss-cn-hangzhou.aliyuncs.com/x',
  ])('allows %s', async (url) => {
    await expect(insecure.checkUrl(url)).resolves.toBeUndefined();
  });

  it.each([
    ['http://127.0.0.2:41234/x', 'not on the allow-list'],
    ['http://2130706434/x', 'not on the allow-list'], // 127.0.0.2
    ['http://evil.example.com/x', 'not on the allow-list'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local/metadata address'],
    ['http://[fe80::1]/x', 'link-local/metadata address'],
    ['gopher://127.0.0.1/x', 'scheme gopher: is not https'],
    ['http://user:pw@127.0.0.1/x', 'the URL carries credentials'],
  ])('still refuses %s (%s)', async (url, reason) => {
    const err = await refusal(insecure, url);
    expect(err?.code).toBe(DOWNLOAD_HOST_NOT_ALLOWED);
    expect(err?.message).toContain(reason);
  });

  it('lets listed private addresses through (a LAN test server) but never metadata', () => {
    const guard = createDownloadGuard({ allowedHosts: ['files.lan'], allowInsecure: true });
    expect(() => guard.checkAddress('files.lan', '192.168.1.20')).not.toThrow();
    expect(() => guard.checkAddress('files.lan', '169.254.169.254')).toThrow(/metadata/);
  });
});

describe('parseHostRule', () => {
  it('normalises case, trailing dots and IDN like the URL parser', () => {
    expect(parseHostRule('*.AliyunCS.com.')).toEqual({ suffix: '.aliyuncs.com' });
    expect(parseHostRule('Bücher.example')).toEqual({ exact: 'xn--bcher-kva.example' });
    expect(parseHostRule('[::1]')).toEqual({ exact: '[::1]' });
    expect(parseHostRule('2130706433')).toEqual({ exact: '127.0.0.1' });
  });

  it.each(['*', '', '*.com', 'a.com:443', 'https://a.com', 'a.com/x', 'user@a.com', '*.10.0.0.1', 'a*.com'])(
    'rejects the entry %j as misconfiguration',
    (entry) => {
      expect(() => parseHostRule(entry)).toThrow(expect.objectContaining({ code: 'misconfigured' }));
    },
  );
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['47.96.1.2', 'public'],
    ['2408:4000::1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0.0.0.0', 'private'],
    ['100.127.255.255', 'private'],
    ['198.18.0.1', 'private'],
    ['224.0.0.1', 'private'],
    ['255.255.255.255', 'private'],
    ['fc00::1', 'private'],
    ['ff02::1', 'private'],
    ['2001:db8::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1%eth0', 'metadata'], // a zone id does not hide link-local
    ['not-an-ip', 'private'],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it('finds the IPv4 address inside mapped, compatible, NAT64 and 6to4 forms', () => {
    expect(embeddedIpv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(embeddedIpv4('::ffff:a00:1')).toBe('10.0.0.1');
    expect(embeddedIpv4('::a00:1')).toBe('10.0.0.1');
    expect(embeddedIpv4('64:ff9b::808:808')).toBe('8.8.8.8');
    expect(embeddedIpv4('2002:a9fe:a9fe::1')).toBe('169.254.169.254');
    expect(embeddedIpv4('2408:4000::1')).toBeUndefined();
    expect(embeddedIpv4('::1')).toBeUndefined();
  });
});
