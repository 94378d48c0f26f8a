/**
 * `notification`: log lines, email over SMTP, signed webhooks.
 *
 * Retries are made safe for receivers rather than hidden: every email carries
 * a Message-ID derived from the step's idempotency key, and every webhook an
 * `Idempotency-Key` header, so a retried attempt can be recognised as the
 * same notification.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { defineExecutor, type ExecutorImplementation, type ExecutorDeps, type StepExecutionContext } from '@engine/activities/runtime/executor';
import { StepError } from '@engine/activities/shared/errors';
import { ItemFailures, failedItemsOf } from '@engine/activities/shared/item-failures';
import { HttpClient } from '@engine/activities/shared/http';
import { isSecretRef, redactString } from '@engine/activities/shared/secrets';
import { isPlainObject } from '@engine/dsl/references';
import { createHash } from 'node:crypto';
import { EMAIL_ADDRESS, NOTIFICATION_DEFAULTS, type NotificationType, NOTIFICATION_STEP_TYPE, notificationConfig } from './schema';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHeader } from './signature';
import { loadChannel, sendToChannel, type Channel, type ChannelSendResult } from '@src/channels/channel-sender';
import { ErrorCodes } from '@engine/shared/contracts';

export interface NotificationOptions {
  /** The outbound HTTP client; by default one per executor, allow-listing `config.httpAllowHosts`. */
  http?: HttpClient;
}

/** What a notification step outputs. */
export type NotificationResult =
  | { type: 'log'; level: string; message: string }
  | { type: 'email'; message_id: string; accepted: string[]; rejected: string[]; idempotency_key: string }
  | { type: 'webhook'; url: string; status: number; attempts: number; idempotency_key: string; signed: boolean }
  | ({ type: 'channel'; idempotency_key: string } & { result: ChannelSendResult });

function configError(field: string, message: string): StepError {
  return new StepError(ErrorCodes.STEP_CONFIG_INVALID, `${field}: ${message}`, { details: { field } });
}

/** A resolved template value as text: objects as JSON, null and undefined as ''. */
function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

/**
 * The Message-ID for a step's email: the same for every attempt, so a
 * receiving system that dedupes on Message-ID drops a retried copy.
 *
 * @example messageIdFor('exec-1:notify', 'merchflow@example.com') // '<3f2a…@example.com>'
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const digest = createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 40);
  const domain = /@([A-Za-z0-9.-]+)$/.exec(from)?.[1] ?? 'merchflow.local';
  return `<${digest}.merchflow@${domain}>`;
}

/** Recipients from a resolved `recipient`: a list, or a string with `,`/`;` separated addresses. Throws naming bad ones. */
export function recipientList(value: unknown, field: string): string[] {
  const raw = (Array.isArray(value) ? value : [value]).flatMap((v) => (typeof v === 'string' ? v.split(/[,;]/) : [v]));
  const list = raw.map((v) => (typeof v === 'string' ? v.trim() : v)).filter((v) => v !== '' && v !== null && v !== undefined);
  for (const v of list) {
    if (typeof v !== 'string' || !EMAIL_ADDRESS.test(v)) {
      throw new StepError(ErrorCodes.VALIDATION_FAILED, `${field}: ${JSON.stringify(v).slice(0, 100)} is not an email address`, { details: { field } });
    }
  }
  if (list.length > NOTIFICATION_DEFAULTS.maxRecipients) throw new StepError(ErrorCodes.VALIDATION_FAILED, `${field}: more than ${NOTIFICATION_DEFAULTS.maxRecipients} recipients`);
  return list as string[];
}

/** SMTP failures: permanent rejections (5xx, bad credentials) do not retry; the rest do. */
function smtpError(err: unknown, smtpUrl: string): StepError {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const password = (() => {
    try {
      return decodeURIComponent(new URL(smtpUrl).password);
    } catch {
      return '';
    }
  })();
  const message = redactString(`email not sent: ${e?.message ?? String(err)}`, password ? [password] : []);
  const details = { smtp_code: e?.code ?? null, response_code: e?.responseCode ?? null };
  if (e?.code === 'EAUTH') return new StepError(ErrorCodes.EMAIL_AUTH_FAILED, message, { details });
  if (typeof e?.responseCode === 'number' && e.responseCode >= 500) return new StepError(ErrorCodes.EMAIL_REJECTED, message, { details });
  if (e?.code === 'EENVELOPE' && !(typeof e.responseCode === 'number' && e.responseCode < 500)) return new StepError(ErrorCodes.EMAIL_REJECTED, message, { details });
  return new StepError(ErrorCodes.EMAIL_SEND_FAILED, message, { retryable: true, details });
}

function build(deps: ExecutorDeps, options: NotificationOptions = {}): ExecutorImplementation {
  const http =
    options.http ??
    new HttpClient({
      allowHosts: deps.config.httpAllowHosts,
      maxSocketsPerHost: deps.config.worker.httpMaxSocketsPerHost,
      logger: { warn: (message, meta) => deps.logger.warn(message, meta) },
    });
  let transport: Transporter<SMTPTransport.SentMessageInfo> | null = null;

  /** One SMTP transport per worker, created on first use so a worker without SMTP_URL still starts. */
  function smtp(): Transporter<SMTPTransport.SentMessageInfo> {
    const url = deps.config.smtp.url;
    if (!url) throw new StepError(ErrorCodes.NOTIFICATION_NOT_CONFIGURED, 'email notifications need SMTP_URL to be configured on the worker');
    transport ??= nodemailer.createTransport({ url, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 });
    return transport;
  }

  async function sendLog(config: Record<string, unknown>, input: unknown, ctx: StepExecutionContext): Promise<NotificationResult> {
    const level = (config.level as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? NOTIFICATION_DEFAULTS.logLevel;
    const message = asText(ctx.resolve(config.message, input));
    const fields = config.fields === undefined ? {} : (ctx.resolve(config.fields, input) as Record<string, unknown>);
    ctx.logger.log(level, message, { notification: 'log', ...fields });
    return { type: 'log', level, message };
  }

  async function sendEmail(config: Record<string, unknown>, input: unknown, ctx: StepExecutionContext): Promise<NotificationResult> {
    const smtpUrl = deps.config.smtp.url ?? '';
    const mailer = smtp();
    const r = ctx.resolve(
      { recipient: config.recipient, cc: config.cc, bcc: config.bcc, from: config.from, reply_to: config.reply_to, subject: config.subject, body: config.body ?? config.template, html: config.html },
      input,
    ) as Record<string, unknown>;
    const to = recipientList(r.recipient, 'recipient');
    if (to.length === 0) throw new StepError(ErrorCodes.VALIDATION_FAILED, 'recipient: resolved to no address');
    const cc = r.cc === undefined ? [] : recipientList(r.cc, 'cc');
    const bcc = r.bcc === undefined ? [] : recipientList(r.bcc, 'bcc');
    const from = r.from === undefined ? deps.config.smtp.from : recipientList(r.from, 'from')[0];
    const replyTo = r.reply_to === undefined ? undefined : recipientList(r.reply_to, 'reply_to')[0];
    // A newline in a resolved subject must not start a new header.
    const subject = asText(r.subject).replace(/[\r\n]+/g, ' ').trim();
    const text = r.body === undefined ? `Workflow ${ctx.workflow_code}, run ${ctx.execution_id}, step ${ctx.step_key}.\n` : asText(r.body);
    const messageId = messageIdFor(ctx.idempotency_key, from);
    try {
      const info = await mailer.sendMail({
        from,
        to,
        cc: cc.length > 0 ? cc : undefined,
        bcc: bcc.length > 0 ? bcc : undefined,
        replyTo,
        subject,
        text,
        html: r.html === undefined ? undefined : asText(r.html),
        messageId,
        headers: {
          'X-Merchflow-Execution-Id': ctx.execution_id,
          'X-Merchflow-Step': ctx.step_key,
          'X-Merchflow-Idempotency-Key': ctx.idempotency_key,
        },
      });
      const list = (v: unknown) => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : (a as { address: string }).address)) : []);
      const rejected = list(info.rejected);
      // Recipients the server refused did not get the message: failed items, never a silent success. (All refused: sendMail throws.)
      const failures = new ItemFailures();
      rejected.forEach((address) => failures.add({ key: address, code: 'SMTP_RECIPIENT_REJECTED', message: `the SMTP server refused recipient ${address}` }));
      return {
        type: 'email',
        message_id: info.messageId ?? messageId,
        accepted: list(info.accepted),
        rejected,
        idempotency_key: ctx.idempotency_key,
        ...(failures.count > 0 ? failures.report() : {}),
      };
    } catch (err) {
      throw smtpError(err, smtpUrl);
    }
  }

  async function sendWebhook(config: Record<string, unknown>, input: unknown, ctx: StepExecutionContext): Promise<NotificationResult> {
    // Secrets come from the definition's own {"secret": ...} values only; resolved data is never searched for secret references.
    const url = isSecretRef(config.url) ? await ctx.resolveSecrets(config.url) : asText(ctx.resolve(config.url, input));
    const secret = config.secret === undefined ? null : await ctx.resolveSecrets(config.secret as { secret: string });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries((config.headers as Record<string, unknown> | undefined) ?? {})) {
      headers[name] = isSecretRef(value) ? await ctx.resolveSecrets(value) : asText(ctx.resolve(value, input)).replace(/[\r\n]+/g, ' ');
    }
    const event = (config.event as string | undefined) ?? NOTIFICATION_DEFAULTS.event;
    const body =
      config.body !== undefined
        ? ctx.resolve(config.body, input)
        : {
            event,
            execution_id: ctx.execution_id,
            workflow_code: ctx.workflow_code,
            step_key: ctx.step_key,
            ...(config.message !== undefined ? { message: asText(ctx.resolve(config.message, input)) } : {}),
            ...(config.data !== undefined ? { data: ctx.resolve(config.data, input) } : {}),
          };
    // Signed bytes are sent bytes: serialise once and send the string.
    const payload = JSON.stringify(body ?? null);
    const timestamp = Math.floor(Date.now() / 1000);
    if (secret !== null) {
      headers[SIGNATURE_HEADER] = signatureHeader(secret, timestamp, payload);
    }
    headers[TIMESTAMP_HEADER] = String(timestamp);
    headers['X-Merchflow-Event'] = event;
    headers['content-type'] = 'application/json';
    const timeoutMs = config.timeout_ms === undefined ? NOTIFICATION_DEFAULTS.webhookTimeoutMs : Number(ctx.resolve(config.timeout_ms, input));
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 120_000) throw configError('timeout_ms', 'must be 1000 to 120000');
    const res = await http.request('POST', url, {
      body: payload,
      headers,
      // Same key on every attempt: receivers dedupe, and the client may safely repeat the POST on 5xx/429.
      idempotencyKey: ctx.idempotency_key,
      // A redirect would carry a signed request somewhere else; treat it as a failure instead.
      followRedirects: false,
      credentialHeaders: [SIGNATURE_HEADER],
      timeoutMs,
      signal: ctx.signal,
      secrets: secret ? [secret] : [],
    });
    const where = (() => {
      const u = new URL(res.url);
      return `${u.origin}${u.pathname}`;
    })();
    if (res.status >= 300) {
      throw new StepError(ErrorCodes.WEBHOOK_REDIRECTED, `webhook ${where} answered ${res.status}; redirects are not followed for signed webhooks`, {
        details: { status: res.status },
      });
    }
    return { type: 'webhook', url: where, status: res.status, attempts: res.attempts, idempotency_key: ctx.idempotency_key, signed: secret !== null };
  }

  /** Routes to a named channel; an empty name (an unset template config value) logs instead. */
  async function sendChannel(config: Record<string, unknown>, input: unknown, ctx: StepExecutionContext): Promise<NotificationResult> {
    const name = asText(ctx.resolve(config.channel, input)).trim();
    if (!name) return sendLog(config, input, ctx);
    const channel = await loadChannel((sql, params) => deps.dataSource.query(sql, params) as Promise<Channel[]>, name);
    const subject = config.subject === undefined ? `Merchflow: ${ctx.workflow_code}` : asText(ctx.resolve(config.subject, input));
    try {
      const result = await sendToChannel(
        channel,
        {
          subject,
          text: asText(ctx.resolve(config.message, input)),
          event: (config.event as string | undefined) ?? NOTIFICATION_DEFAULTS.event,
          data: config.data === undefined ? undefined : ctx.resolve(config.data, input),
          idempotencyKey: ctx.idempotency_key,
          headers: { 'X-Merchflow-Execution-Id': ctx.execution_id, 'X-Merchflow-Step': ctx.step_key },
        },
        { http, smtp, from: deps.config.smtp.from, resolveSecret: (secret) => ctx.resolveSecrets({ secret }), signal: ctx.signal },
      );
      return { type: 'channel', idempotency_key: ctx.idempotency_key, result };
    } catch (err) {
      throw channel.type === 'email' && !(err instanceof StepError) ? smtpError(err, deps.config.smtp.url ?? '') : err;
    }
  }

  return {
    async execute(config, ctx) {
      const input = config.input !== undefined ? ctx.resolve(config.input) : ctx.input;
      switch (config.type as NotificationType) {
        case 'log':
          return sendLog(config, input, ctx);
        case 'email':
          return sendEmail(config, input, ctx);
        case 'webhook':
          return sendWebhook(config, input, ctx);
        case 'channel':
          return sendChannel(config, input, ctx);
      }
    },
    // Email recipients the server refused.
    failedItems: (output) => (isPlainObject(output) && output.type === 'email' ? failedItemsOf(output) : null),
    summarize(output) {
      if (!isPlainObject(output)) return {};
      const { type, status, level } = output as Record<string, unknown>;
      const accepted = Array.isArray(output.accepted) ? output.accepted.length : undefined;
      return Object.fromEntries(Object.entries({ type, status, level, accepted }).filter(([, v]) => v !== undefined));
    },
  };
}

/** The `notification` step executor: its config (type and validator, from schema.ts) and its factory. */
export { NOTIFICATION_STEP_TYPE };

export const notificationExecutorModule = defineExecutor({ config: notificationConfig, create: build });

/** Builds the executor for a worker (tests pass options). */
export const createNotificationExecutor = notificationExecutorModule.create;
