// Profiles × key types, the RSA half (issuance-matrix-support.ts): RSA 2048, 3072 and 4096.
import { KEY_TYPES } from '@pkim/shared';
import { defineIssuanceMatrix } from './issuance-matrix-support';

defineIssuanceMatrix(KEY_TYPES.filter((kt) => kt.startsWith('rsa-')));
