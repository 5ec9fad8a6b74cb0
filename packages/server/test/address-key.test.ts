import { describe, expect, it } from 'vitest';
import { addressKey } from '../src/http/rate-limit.js';

// The per-address limits count an IPv6 client by its /64, however the address is written.

describe('addressKey', () => {
  it('one /64 is one key, whatever the interface id and however it is written', () => {
    const key = addressKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    for (const same of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002::abcd',
      '2001:db8:1:2:0:0:1.2.3.4',
      '2001:db8:1:2::9%eth0',
    ]) {
      expect(addressKey(same), same).toBe(key);
    }
    expect(addressKey('2001:db8:1:3::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('IPv4, also written IPv4-mapped, is the address itself', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.8')).not.toBe(addressKey('192.0.2.7'));
  });
});
