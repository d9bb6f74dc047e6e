// The API contract's wire mappers (`--json` output), loaded with the first command that prints one.
export {
  pageOf,
  toAuditEventPage,
  toAuditVerifyDto,
  toCaCrlDto,
  toCaDto,
  toCaViewDto,
  toCertificateDetailDto,
  toCertificateDto,
  toIssuedCertificateDto,
  toNotificationDeliveryDto,
  toNotificationRuleCreatedDto,
  toNotificationRuleDto,
  toRenewalDto,
  toRequestDto,
  toTokenDto,
  toUserDto,
} from '@pkim/contract';
