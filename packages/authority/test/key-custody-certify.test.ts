// Key custody: the Cosmian "Certify" option of root creation (`kmsCertify: true`), against the strict Cosmian
// stand-in built from the published fixtures. The fixtures hold a real RSA-2048 key (public half), a real
// self-signed CA TBSCertificate for it (CN=Example Root CA, 2026-01-01 … 2036-01-01) and the KMS's signature
// over it, so the certificate the stand-in returns from Get(X509) is one the fixture key really signed: the
// whole flow (CreateKeyPair → Get SPKI → Certify → Get X509 → checks → CA row) runs consistently.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { PkiError, fixedClock } from '@pkim/shared';
import { assembleCertificate, fromPem, parseCertificate, subjectToDn as _unused, toPem } from './key-custody-imports';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { checkKmsCertifiedRoot } from '../src/ca-service';
import { FIXTURE_TBS_HEX, loadFixture, startCosmianResponder, type CosmianResponder, type Json } from '../../keys/test/support/cosmian-responder';
import { makeClientCert } from '../../../tests/support/pykmip';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
