/**
 * Sends one message to a named channel: email over SMTP, a JSON webhook
 * signed with HMAC-SHA256, or a Slack-compatible incoming webhook. Used by
 * the notification step (`"type": "channel"`) and by the channel test send,
 * so a test exercises the very path a run takes. Secrets are resolved by
 * name at send time and never returned.
 */
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { StepError } from '@engine/activities/shared/errors';
import type { HttpClient } from '@engine/activities/shared/http';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHeader } from '@engine/activities/notification/signature';

export const CHANNEL_TYPES = ['email', 'webhook', 'slack'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** A channel as stored. */
export interface Channel {
  id: number;
  name: string;
  type: ChannelType;
  /** email: {recipients, from?}; webhook: {url, signing_secret?}; slack: {url_secret}. */
  config: { recipients?: string[]; from?: string; url?: string; signing_secret?: string; url_secret?: string };
  is_active: boolean;
}

export interface ChannelMessage {
  subject: string;
  text: string;
  event: string;
  data?: unknown;
  /** The same on every attempt: the email's Message-ID seed and the webhook's Idempotency-Key. */
  idempotencyKey: string;
  headers?: Record<string, string>;
}

export interface ChannelSendDeps {
  http: Pick<HttpClient, 'request'>;
  /** The SMTP transport (throws NOTIFICATION_NOT_CONFIGURED without SMTP_URL). */
  /** The SMTP transport (may be loaded on first use: the API loads nodemailer only when it sends a test email). */
  smtp: () => Transporter<SMTPTransport.SentMessageInfo> | Promise<Transporter<SMTPTransport.SentMessageInfo>>;
  from: string;
  resolveSecret: (name: string) => Promise<string>;
  signal?: AbortSignal;
}

export type ChannelSendResult =
  | { channel: string; type: 'email'; message_id: string; accepted: string[]; rejected: string[] }
  | { channel: string; type: 'webhook' | 'slack'; status: number; signed: boolean };

/** Looks a channel up by name; a missing or disabled channel is a non-retryable configuration error naming it. */
export async function loadChannel(query: (sql: string, params: unknown[]) => Promise<Channel[]>, name: string): Promise<Channel> {
  const [channel] = await query(`SELECT id, name, type, config, is_active FROM notification_channels WHERE name = $1`, [name]);
  if (!channel) throw new StepError('CHANNEL_NOT_FOUND', `channel: no notification channel named ${JSON.stringify(name)}`, { details: { field: 'channel', channel: name } });
  if (!channel.is_active) throw new StepError('CHANNEL_DISABLED', `channel: notification channel ${JSON.stringify(name)} is disabled`, { details: { field: 'channel', channel: name } });
  return channel;
}

export async function sendToChannel(channel: Channel, msg: ChannelMessage, deps: ChannelSendDeps): Promise<ChannelSendResult> {
  if (channel.type === 'email') {
    const recipients = channel.config.recipients ?? [];
    if (recipients.length === 0) throw new StepError('STEP_CONFIG_INVALID', `channel ${channel.name}: config.recipients is empty`);
    const info = await (await deps.smtp()).sendMail({
      from: channel.config.from ?? deps.from,
      to: recipients,
      subject: msg.subject.replace(/[\r\n]+/g, ' ').trim(),
      text: msg.text,
      headers: { 'X-Merchflow-Channel': channel.name, 'X-Merchflow-Idempotency-Key': msg.idempotencyKey, ...(msg.headers ?? {}) },
    });
    const list = (v: unknown) => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : (a as { address: string }).address)) : []);
    return { channel: channel.name, type: 'email', message_id: info.messageId, accepted: list(info.accepted), rejected: list(info.rejected) };
  }
  const slack = channel.type === 'slack';
  const url = slack ? await deps.resolveSecret(channel.config.url_secret ?? '') : channel.config.url;
  if (!url) throw new StepError('STEP_CONFIG_INVALID', `channel ${channel.name}: config.url is empty`);
  const signingSecret = !slack && channel.config.signing_secret ? await deps.resolveSecret(channel.config.signing_secret) : null;
  const body = slack
    ? { text: msg.subject ? `*${msg.subject}*\n${msg.text}` : msg.text }
    : { event: msg.event, subject: msg.subject, message: msg.text, ...(msg.data !== undefined ? { data: msg.data } : {}) };
  const payload = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!slack) {
    headers[TIMESTAMP_HEADER] = String(timestamp);
    headers['X-Merchflow-Event'] = msg.event;
    if (signingSecret) headers[SIGNATURE_HEADER] = signatureHeader(signingSecret, timestamp, payload);
  }
  const res = await deps.http.request('POST', url, {
    body: payload,
    headers,
    idempotencyKey: msg.idempotencyKey,
    followRedirects: false,
    credentialHeaders: [SIGNATURE_HEADER],
    timeoutMs: 30_000,
    signal: deps.signal,
    secrets: [signingSecret, slack ? url : null].filter((s): s is string => Boolean(s)),
  });
  if (res.status >= 300) {
    throw new StepError('WEBHOOK_REDIRECTED', `channel ${channel.name}: the webhook answered ${res.status}; redirects are not followed`, { details: { status: res.status } });
  }
  return { channel: channel.name, type: slack ? 'slack' : 'webhook', status: res.status, signed: signingSecret !== null };
}
