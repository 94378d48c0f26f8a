import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyAddress,
  isBlockedAddress,
  normalizeHost,
  parseHostPattern,
  parseHostList,
  hostMatches,
  HttpClient,
} from '@engine/activities/shared/http';
import { errorCode } from '@engine/activities/shared/errors';

describe(classifyAddress.name, () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.1.1', 'link_local'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fd00::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['::8.8.8.8', 'reserved'],
    ['[::1]', 'loopback'],
  ];
  for (const [address, category] of cases) {
    it(`classifies ${address} as ${category} (blocked)`, () => {
      const c = classifyAddress(address);
      assert.equal(c.category, category);
      assert.equal(c.blocked, true);
    });
  }

  for (const address of ['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
    it(`classifies ${address} as public`, () => {
      const c = classifyAddress(address);
      assert.equal(c.category, 'public');
      assert.equal(isBlockedAddress(address), false);
    });
  }

  it('reports the embedded IPv4 address of mapped forms', () => {
    assert.equal(classifyAddress('::ffff:7f00:1').embeddedIPv4, '127.0.0.1');
    assert.equal(classifyAddress('::ffff:169.254.169.254').embeddedIPv4, '169.254.169.254');
  });

  it('rejects non-addresses', () => {
    for (const bad of ['localhost', '0x7f000001', '2130706433', '1.2.3', '']) {
      assert.throws(() => classifyAddress(bad), (err: unknown) => errorCode(err) === 'INVALID_URL');
    }
  });
});

describe(normalizeHost.name, () => {
  const spellings: Array<[string, string]> = [
    ['0x7f000001', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
    ['LocalHost', 'localhost'],
  ];
  for (const [input, expected] of spellings) {
    it(`normalises ${input} to ${expected}, which is blocked`, () => {
      const n = normalizeHost(input);
      assert.equal(n.hostname, expected);
      if (n.ip) assert.equal(isBlockedAddress(n.ip), true);
    });
  }

  it('keeps names as lower-case names', () => {
    assert.deepEqual(normalizeHost('API.Example.com'), { hostname: 'api.example.com', ip: null });
  });

  it('rejects invalid hosts', () => {
    assert.throws(() => normalizeHost('exa mple.com'), (err: unknown) => errorCode(err) === 'INVALID_URL');
    assert.throws(() => normalizeHost('1.2.3.4.5'), (err: unknown) => errorCode(err) === 'INVALID_URL');
  });
});

describe(parseHostPattern.name, () => {
  it('parses host, host:port, bracketed IPv6, wildcards and URLs', () => {
    assert.deepEqual(parseHostPattern('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080, wildcard: false });
    assert.deepEqual(parseHostPattern('0x7f000001:80'), { host: '127.0.0.1', port: 80, wildcard: false });
    assert.deepEqual(parseHostPattern('[::1]:9000'), { host: '::1', port: 9000, wildcard: false });
    assert.deepEqual(parseHostPattern('::1'), { host: '::1', port: undefined, wildcard: false });
    assert.deepEqual(parseHostPattern('*.Example.com'), { host: 'example.com', port: undefined, wildcard: true });
    assert.deepEqual(parseHostPattern('https://sandbox.local'), { host: 'sandbox.local', port: 443, wildcard: false });
    assert.throws(() => parseHostPattern('host:99999'), (err: unknown) => errorCode(err) === 'INVALID_URL');
  });

  it('matches by normalised name and port', () => {
    const list = parseHostList('127.0.0.1:4010, sandbox.local *.example.com');
    assert.equal(hostMatches(list, '127.0.0.1', 4010), true);
    assert.equal(hostMatches(list, '127.0.0.1', 4011), false);
    assert.equal(hostMatches(list, 'localhost', 4010), false);
    assert.equal(hostMatches(list, 'sandbox.local', 1), true);
    assert.equal(hostMatches(list, 'a.b.example.com', 443), true);
    assert.equal(hostMatches(list, 'example.com', 443), false);
    assert.equal(hostMatches(list, 'badexample.com', 443), false);
    assert.deepEqual(parseHostList(undefined), []);
  });
});

describe(`${HttpClient.name}.checkUrl`, () => {
  const lookup = async (host: string) => {
    const answers: Record<string, string[]> = {
      'public.test': ['93.184.216.34', '2606:2800:220:1::1'],
      'mixed.test': ['93.184.216.34', '10.0.0.5'],
      'mixed6.test': ['2606:2800:220:1::1', '::ffff:127.0.0.1'],
      'internal.test': ['192.168.1.1'],
    };
    if (!answers[host]) throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    return answers[host].map((address) => ({ address }));
  };

  it('accepts a host whose addresses are all public (without connecting)', async () => {
    const sut = new HttpClient({ lookup });
    const ok = await sut.checkUrl('https://public.test/x');
    assert.deepEqual(ok.addresses, ['93.184.216.34', '2606:2800:220:1::1']);
    assert.equal(ok.port, 443);
    sut.close();
  });

  it('refuses when ANY resolved address is blocked, naming host and address', async () => {
    const sut = new HttpClient({ lookup });
    for (const [host, address] of [
      ['mixed.test', '10.0.0.5'],
      ['mixed6.test', '::ffff:127.0.0.1'],
      ['internal.test', '192.168.1.1'],
    ]) {
      await assert.rejects(sut.checkUrl(`http://${host}/`), (err: unknown) => {
        assert.equal(errorCode(err), 'SSRF_BLOCKED');
        assert.match((err as Error).message, new RegExp(host));
        assert.ok((err as Error).message.includes(address));
        return true;
      });
    }
    sut.close();
  });

  it('lets allow-listed hosts through and reports lookup failures as retryable', async () => {
    const sut = new HttpClient({ lookup, allowHosts: ['internal.test:8080'] });
    assert.equal((await sut.checkUrl('http://internal.test:8080/')).allowListed, true);
    await assert.rejects(sut.checkUrl('http://internal.test:8081/'), (err: unknown) => errorCode(err) === 'SSRF_BLOCKED');
    await assert.rejects(sut.checkUrl('http://nowhere.test/'), (err: unknown) => {
      assert.equal(errorCode(err), 'DNS_LOOKUP_FAILED');
      assert.equal((err as { retryable: boolean }).retryable, true);
      return true;
    });
    await assert.rejects(sut.checkUrl('gopher://public.test/'), (err: unknown) => errorCode(err) === 'UNSUPPORTED_SCHEME');
    sut.close();
  });
});
