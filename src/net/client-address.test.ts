import { describe, expect, it } from 'vitest';
import { clientAddress, clientKey } from './client-address.ts';

describe('client address for per-client limits', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[::ffff:10.1.2.3]', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['not-an-ip', 'unknown'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });

  it('X-Forwarded-For counts only with a trusted proxy, and only its last entry', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9', false)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '203.0.113.9', true)).toBe('203.0.113.9');
    // The client wrote the first entries; the proxy appended the last.
    expect(clientAddress('127.0.0.1', '1.1.1.1, 203.0.113.9', true)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', ['1.1.1.1', '198.51.100.7'], true)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', 'garbage', true)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', undefined, true)).toBe('127.0.0.1');
  });
});
