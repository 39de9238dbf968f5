import { describe, expect, it } from 'vitest';
import { assertAllowedAddress, assertPublicUrl, blockReason, formatIp, parseAllowlist, parseIp, UnsafeUrlError } from '../src/index.ts';

const resolveTo =
  (...addrs: string[]) =>
  async () =>
    addrs;

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud-metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'private'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'cloud-metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'cloud-metadata'],
    ['2002:7f00:1::', 'loopback'],
  ])('%s is refused as %s', (addr, reason) => {
    expect(blockReason(addr)).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (addr) => {
      expect(blockReason(addr)).toBeUndefined();
    },
  );
});

describe('formatIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['::1', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0:0:1:0:0:0:0', 'fe80:0:0:1::'],
    ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
  ])('%s is written %s', (input, text) => {
    const ip = parseIp(input);
    expect(ip).toBeDefined();
    expect(formatIp(ip as NonNullable<typeof ip>)).toBe(text);
  });
});

describe('assertPublicUrl', () => {
  it('accepts a public host and returns its addresses', async () => {
    const r = await assertPublicUrl('https://hooks.example.com/in', {}, resolveTo('93.184.216.34'));
    expect(r.addresses).toEqual(['93.184.216.34']);
  });

  it.each([
    'http://127.0.0.1/x',
    'http://[::1]:8080/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://0.0.0.0/',
    'http://169.254.169.254/latest/meta-data',
    'http://[fd00:ec2::254]/',
    'http://100.64.1.1/',
  ])('refuses the literal %s', async (url) => {
    await expect(assertPublicUrl(url, {}, resolveTo('8.8.8.8'))).rejects.toBeInstanceOf(UnsafeUrlError);
  });

  it.each([
    ['http://127.0.0.1:8080/flags', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://[::1]:9/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:127.0.0.1'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
  ])('names the refused address of %s as an address (%s), not an integer', async (url, shown) => {
    const err = (await assertPublicUrl(url, {}, resolveTo('8.8.8.8')).catch((e: unknown) => e)) as UnsafeUrlError;
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.address).toBe(shown);
    expect(err.message).toContain(`address ${shown} is not allowed`);
    expect(err.message).not.toMatch(/\d{6,}/);
  });

  it('names a refused resolved address in its text form', () => {
    expect(() => assertAllowedAddress(parseIp('10.0.0.5') ?? '', {})).toThrow('address 10.0.0.5 is not allowed (private)');
  });

  it('refuses a name that resolves to any private address', async () => {
    await expect(assertPublicUrl('https://evil.example/', {}, resolveTo('8.8.8.8', '10.0.0.5'))).rejects.toMatchObject({
      reason: 'private',
    });
  });

  it('refuses other schemes, http in https-only mode and unresolvable hosts', async () => {
    await expect(assertPublicUrl('ftp://example.com/', {}, resolveTo('8.8.8.8'))).rejects.toMatchObject({ reason: 'scheme' });
    await expect(assertPublicUrl('http://example.com/', { httpsOnly: true }, resolveTo('8.8.8.8'))).rejects.toMatchObject({
      reason: 'scheme',
    });
    await expect(assertPublicUrl('not a url', {})).rejects.toMatchObject({ reason: 'invalid-url' });
    await expect(
      assertPublicUrl('https://nx.example/', {}, async () => {
        throw new Error('ENOTFOUND');
      }),
    ).rejects.toMatchObject({ reason: 'unresolvable' });
  });

  it('lets allowlisted ranges and host names through', async () => {
    const policy = { allow: parseAllowlist('127.0.0.0/8, ::1, internal.test') };
    await expect(assertPublicUrl('http://127.0.0.1:9/x', policy)).resolves.toBeTruthy();
    await expect(assertPublicUrl('http://[::1]:9/x', policy)).resolves.toBeTruthy();
    await expect(assertPublicUrl('http://internal.test/x', policy, resolveTo('10.0.0.1'))).resolves.toBeTruthy();
    await expect(assertPublicUrl('http://10.0.0.1/x', policy)).rejects.toBeInstanceOf(UnsafeUrlError);
    expect(() => parseAllowlist('10.0.0.0/99')).toThrow(/prefix/);
  });
});
