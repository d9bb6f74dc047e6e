import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { validateNamePattern } from '../src/signing/provisioner';
import { allowPatternsMatch } from '../src/spiffe/spiffe-id';

// the name-pattern check and the SPIFFE allow globs remember what they computed (they run on every Vault `sign` and
// SVID request): what they answer must not depend on what was asked before
describe('remembered pattern checks', () => {
  it('refuses an invalid name pattern every time, and accepts a valid one every time', () => {
    for (let i = 0; i < 3; i++) {
      expect(() => validateNamePattern('*.example.test')).not.toThrow();
      expect(() => validateNamePattern('10.0.0.0/8')).not.toThrow();
      expect(() => validateNamePattern('bad pattern!')).toThrow(PkiError);
      expect(() => validateNamePattern('10.0.0.0/33')).toThrow(/invalid name pattern '10\.0\.0\.0\/33'/);
      expect(() => validateNamePattern('*@')).toThrow(PkiError);
    }
  });

  it('matches SPIFFE instance globs the same on every call', () => {
    for (let i = 0; i < 3; i++) {
      expect(allowPatternsMatch(['node/worker-*'], 'node', 'worker-1')).toBe(true);
      expect(allowPatternsMatch(['node/worker-*'], 'node', 'other-1')).toBe(false);
      expect(allowPatternsMatch(['*/db-?'], 'node', 'db-1')).toBe(true);
      expect(allowPatternsMatch(['*/db-?'], 'node', 'db-10')).toBe(false);
      // the same glob under another service type
      expect(allowPatternsMatch(['gateway/worker-*'], 'node', 'worker-1')).toBe(false);
      expect(allowPatternsMatch(['gateway/worker-*'], 'gateway', 'worker-1')).toBe(true);
    }
  });
});
