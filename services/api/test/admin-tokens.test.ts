// ADMIN_TOKEN: the constant-time check (admin/admin-tokens.ts) and the configuration's one-line errors.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@coupons/shared/config';
import { AdminTokens, adminTokenId } from '../src/admin/admin-tokens.ts';

const FIRST = '0123456789abcdef'.repeat(4);
const SECOND = 'fedcba9876543210'.repeat(2);

describe('AdminTokens', () => {
  it('knows each configured token by its own non-secret id, and nothing else', () => {
    const tokens = new AdminTokens([FIRST, SECOND]);
    expect(tokens.enabled).toBe(true);
    expect(tokens.verify(FIRST)).toEqual({ tokenId: adminTokenId(FIRST) });
    expect(tokens.verify(SECOND)).toEqual({ tokenId: adminTokenId(SECOND) });
    expect(adminTokenId(FIRST)).not.toBe(adminTokenId(SECOND));
    expect(adminTokenId(FIRST)).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(adminTokenId(FIRST)).not.toContain(FIRST.slice(0, 12));
  });

  it('refuses near misses of every length without throwing (digests are compared, always of equal length)', () => {
    const tokens = new AdminTokens([FIRST]);
    for (const guess of ['', 'x', FIRST.slice(0, -1), `${FIRST}0`, FIRST.toUpperCase(), ` ${FIRST}`, FIRST.replace(/.$/, 'g'), 'é'.repeat(64)]) {
      expect(tokens.verify(guess)).toBeUndefined();
    }
  });

  it('checks every configured token, so the last of several matches as well as the first', () => {
    const many = Array.from({ length: 5 }, (_, i) => `${String(i).repeat(32)}`);
    const tokens = new AdminTokens(many);
    for (const token of many) expect(tokens.verify(token)?.tokenId).toBe(adminTokenId(token));
  });

  it('is disabled with no token: nothing verifies', () => {
    const tokens = new AdminTokens([]);
    expect(tokens.enabled).toBe(false);
    expect(tokens.verify('')).toBeUndefined();
  });
});

describe('ADMIN_TOKEN configuration', () => {
  it('unset or blank: an empty list (the admin API is off)', () => {
    expect(loadConfig({}).ADMIN_TOKEN).toEqual([]);
    expect(loadConfig({ ADMIN_TOKEN: '  ' }).ADMIN_TOKEN).toEqual([]);
  });

  it('a comma-separated list for rotation, spaces and empty entries dropped', () => {
    expect(loadConfig({ ADMIN_TOKEN: `${FIRST}, ${SECOND},` }).ADMIN_TOKEN).toEqual([FIRST, SECOND]);
  });

  it('a token under 32 characters fails fast in one line that names the variable and the fix, never the secret', () => {
    const secret = 'short-secret-1234';
    let error: unknown;
    try {
      loadConfig({ ADMIN_TOKEN: `${FIRST},${secret}` });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('ADMIN_TOKEN');
    expect(message).toContain('token 2 of 2 has 17 characters, needs at least 32');
    expect(message).toContain('openssl rand -hex 32');
    expect(message).not.toContain(secret);
    expect(message).not.toContain(FIRST);
  });
});
