// The API contract's wire mappers (`--json` output), loaded with the first command that prints one.
export {
  pageOf,
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
} from '@pkim/contract';
