/**
 * KMIP RequestMessage / ResponseMessage envelopes (one batch item), and the bare-operation form Cosmian
 * accepts on `/kmip/2_1` (`{"tag":"Sign",…}` → `{"tag":"SignResponse",…}`).
 */
import { PkiError } from '@pkim/shared';
import { kmipOperationError, reasonName } from './kmip-errors';
import type { KmipRequest } from './kmip-operations';
import { childOf, childrenOf, textOf, ttlv, type TtlvNode } from './kmip-ttlv';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export function buildBareRequest(req: KmipRequest): TtlvNode {
  return ttlv.struct(req.operation, req.payload);
}

export function buildRequestMessage(version: ProtocolVersion, req: KmipRequest): TtlvNode {
  return ttlv.struct('RequestMessage', [
    ttlv.struct('RequestHeader', [
      ttlv.struct('ProtocolVersion', [
        ttlv.int('ProtocolVersionMajor', version.major),
        ttlv.int('ProtocolVersionMinor', version.minor),
      ]),
      ttlv.int('BatchCount', 1),
    ]),
    ttlv.struct('BatchItem', [ttlv.enum('Operation', req.operation), ttlv.struct('RequestPayload', req.payload)]),
  ]);
}

/**
 * Extracts the response payload for `operation` from either a ResponseMessage or a bare `…Response` node.
 * A ResponseMessage with ResultStatus OperationFailed throws the mapped final PkiError.
 */
export function unwrapResponse(operation: string, res: TtlvNode): TtlvNode {
  if (res.tag === `${operation}Response`) return res;
  if (res.tag !== 'ResponseMessage') {
    throw new PkiError('kms.operation_failed', `KMIP ${operation}: unexpected response ${res.tag}`, {
      details: { reason: 'codec' },
    });
  }
  const items = childrenOf(res, 'BatchItem');
  if (items.length !== 1) {
    throw new PkiError('kms.operation_failed', `KMIP ${operation}: expected one batch item, got ${items.length}`, {
      details: { reason: 'codec' },
    });
  }
  const item = items[0]!;
  const status = childOf(item, 'ResultStatus')?.value;
  if (status === 'Success' || status === 0) {
    const op = childOf(item, 'Operation')?.value;
    if (op !== undefined && op !== operation) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar TTLV value
      throw new PkiError('kms.operation_failed', `KMIP ${operation}: response is for ${String(op)}`, {
        details: { reason: 'codec' },
      });
    }
    return childOf(item, 'ResponsePayload') ?? ttlv.struct('ResponsePayload', []);
  }
  const reason = childOf(item, 'ResultReason');
  throw kmipOperationError({
    operation,
    reason: reason ? reasonName(reason.value as string | number) : undefined,
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar TTLV value
    message: textOf(childOf(item, 'ResultMessage')) ?? `ResultStatus ${String(status)}`,
  });
}
