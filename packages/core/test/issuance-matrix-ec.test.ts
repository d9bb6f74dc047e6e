// Profiles × key types, the EC and Ed25519 half (issuance-matrix-support.ts), and the verifiers' negative controls.
import { KEY_TYPES } from '@pkim/shared';
import { defineIssuanceMatrix, defineVerifierControls } from './issuance-matrix-support';

defineIssuanceMatrix(KEY_TYPES.filter((kt) => !kt.startsWith('rsa-')));
defineVerifierControls();
