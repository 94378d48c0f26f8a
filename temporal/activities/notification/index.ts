/** The `notification` step executor: log lines, email over SMTP, HMAC-signed webhooks. */
export { NOTIFICATION_STEP_TYPE, notificationExecutorModule, createNotificationExecutor, messageIdFor, recipientList, type NotificationResult } from './executor';
export { validateNotificationConfig } from './schema';
export { verifyWebhookSignature, signatureHeader, parseSignatureHeader, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature';
