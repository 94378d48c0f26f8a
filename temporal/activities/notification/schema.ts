/**
 * Config of a `notification` step: a log line, an email over SMTP, or a
 * signed webhook. Text fields are templates: `$input.x`, `$steps.a.count`,
 * `${config.shop}` and, bound to the step input, `$field` / `$` are
 * interpolated. Secrets are only ever `{"secret": "NAME"}` references.
 *
 * @example Log (level debug | info | warn | error, default info)
 * { "type": "log", "level": "info", "message": "Imported $steps.store.inserted products for supplier $input.supplier_id" }
 * @example Email (the specification's config; `recipient` may be a list; `body` or `template`, optional `html`)
 * { "type": "email", "recipient": "admin@company.com", "subject": "Workflow completed",
 *   "body": "Run $execution.id finished: $steps.store.inserted new, $steps.store.updated changed." }
 * @example Channel (a named channel managed through /channels/; "" or an unset config value logs instead)
 * { "type": "channel", "channel": "${config.alerts_channel}", "subject": "Low stock", "message": "$steps.check.output_count SKUs are low" }
 * @example Webhook (POST JSON, HMAC-SHA256 signed with the named secret)
 * { "type": "webhook", "url": "https://hooks.example.com/merchflow", "secret": { "secret": "HOOK_SECRET" },
 *   "event": "import.completed", "message": "done", "data": { "inserted": "$steps.store.inserted" } }
 */
import { z } from 'zod';
import { defineStepConfig } from '@engine/activities/runtime/executor';
import type { ConfigValidator } from '@engine/dsl/types';
import { isReference } from '@engine/dsl/references';
import { SECRET_NAME_PATTERN, containsSecretRef } from '@engine/activities/shared/secrets';
import { zodIssues, type ConfigIssue } from '@engine/activities/shared/config-issues';

export type { ConfigIssue };

export const NOTIFICATION_TYPES = ['log', 'email', 'webhook', 'channel'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const NOTIFICATION_DEFAULTS = {
  logLevel: 'info',
  event: 'workflow.notification',
  webhookTimeoutMs: 30_000,
  maxRecipients: 100,
} as const;


/** A plain address; display names and groups are not accepted (they are where header injection hides). */
export const EMAIL_ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;

/** Headers the executor sets itself; a config may not override them. */
export const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'idempotency-key',
  'x-merchflow-signature',
  'x-merchflow-timestamp',
  'x-merchflow-event',
]);

const isDynamic = (s: string) => s.includes('$');
const secretRef = z.strictObject({ secret: z.string().regex(SECRET_NAME_PATTERN, 'must be a secret name') });
const template = z.string().max(100_000);
const address = z.string().refine((s) => isDynamic(s) || EMAIL_ADDRESS.test(s), { message: 'must be an email address or a reference' });
const addresses = z.union([address, z.array(address).min(1).max(NOTIFICATION_DEFAULTS.maxRecipients)], {
  error: 'must be an email address, a reference, or a list of them',
});
const httpUrl = z.string().refine(
  (s) => {
    if (isDynamic(s)) return true;
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL without credentials, or a template' },
);
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'is not a valid header name');
const common = { description: z.string().optional().describe('a note for readers of the definition'), input: z.unknown().optional().describe('what the templates read as $ instead of the step input') };

const schemas = {
  // A named channel (email, signed webhook, Slack-compatible): `channel` may be a template like "${config.alerts_channel}";
  // when it resolves to an empty string the message is logged at `level` instead.
  channel: z.strictObject({
    type: z.literal('channel'),
    ...common,
    channel: z.string().max(200).describe('name of a channel (see /channels/); "" logs instead'),
    subject: template.max(998).optional(),
    message: template,
    data: z.unknown().optional(),
    event: z.string().min(1).max(200).optional(),
    level: z.enum(LOG_LEVELS).optional(),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  log: z.strictObject({
    type: z.literal('log'),
    ...common,
    level: z.enum(LOG_LEVELS).optional().describe('default info'),
    message: template.describe('the log line (a template)'),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  email: z.strictObject({
    type: z.literal('email'),
    ...common,
    recipient: addresses.describe('an address, a reference, or a list of them'),
    cc: addresses.optional(),
    bcc: addresses.optional(),
    from: address.optional(),
    reply_to: address.optional(),
    subject: template.max(998).describe('a template'),
    body: template.optional().describe('plain text (a template)'),
    template: template.optional().describe('a named email template, instead of body'),
    html: template.optional().describe('an HTML alternative'),
  }),
  webhook: z.strictObject({
    type: z.literal('webhook'),
    ...common,
    url: z.union([httpUrl, secretRef], { error: 'must be an http(s) URL, a template, or {"secret": "NAME"}' }).describe('http(s) URL, a template, or {"secret": "NAME"}'),
    secret: secretRef.optional().describe('{"secret": "NAME"}: the key the body is HMAC-SHA256 signed with'),
    headers: z.record(headerName, z.union([z.string(), secretRef], { error: 'must be a string or {"secret": "NAME"}' })).optional(),
    event: z.string().min(1).max(200).optional(),
    message: template.optional(),
    data: z.unknown().optional(),
    body: z.unknown().optional(),
    timeout_ms: z.union([z.number().int().min(1000).max(120_000), z.string().refine(isReference)], { error: 'must be 1000 to 120000 or a reference' }).optional(),
  }),
} satisfies Record<NotificationType, z.ZodType>;

/** What editors are shown: one shape per `type`. */
const publishedSchema = z.discriminatedUnion('type', [schemas.log, schemas.email, schemas.channel, schemas.webhook]);

/** Validates a `notification` config; every issue names its field. */
export const validateNotificationConfig: ConfigValidator = (config) => {
  const type = config.type;
  if (typeof type !== 'string' || !(NOTIFICATION_TYPES as readonly string[]).includes(type)) {
    return [{ field: 'type', message: `must be one of ${NOTIFICATION_TYPES.join(', ')}` }];
  }
  const parsed = schemas[type as NotificationType].safeParse(config);
  if (!parsed.success) return zodIssues(parsed.error);
  const issues: ConfigIssue[] = [];
  if (type === 'email' && config.body !== undefined && config.template !== undefined) {
    issues.push({ field: 'template', message: 'give either body or template, not both' });
  }
  if (type === 'webhook') {
    if (config.body !== undefined && (config.message !== undefined || config.data !== undefined)) {
      issues.push({ field: 'body', message: 'a custom body replaces the envelope: do not combine it with message or data' });
    }
    // Secret values go into headers or the signature only, never into a payload that receivers store and log.
    for (const field of ['body', 'data'] as const) {
      if (containsSecretRef(config[field])) issues.push({ field, message: 'may not contain secret references' });
    }
    for (const name of Object.keys((config.headers as Record<string, unknown> | undefined) ?? {})) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) issues.push({ field: `headers.${name}`, message: 'is set by the executor' });
    }
  }
  return issues;
};

/** Step type id of `notification`. */
export const NOTIFICATION_STEP_TYPE = 'notification';

/** The `notification` step type as the API knows it: its id, config validator and schema. */
export const notificationConfig = defineStepConfig(NOTIFICATION_STEP_TYPE, validateNotificationConfig, { schema: publishedSchema });
