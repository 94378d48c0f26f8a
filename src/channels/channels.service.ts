/**
 * Named notification channels: list, get, create, update, disable, delete and
 * a test send through the same sender a run uses; and the local mailbox.
 */
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { DataSource } from 'typeorm';
import { ConflictError, NotFoundError, ValidationFailedError } from '@src/common/errors';
import type { AppConfig } from '@src/config/config';
import { updated } from '@src/database/query-result';
import type { SecretsService } from '@src/secrets/secrets.service';
import { HttpClient } from '@engine/activities/shared/http';
import { errorCode, StepError } from '@engine/activities/shared/errors';
import { redact, SECRET_NAME_PATTERN } from '@engine/activities/shared/secrets';
import { EMAIL_ADDRESS } from '@engine/activities/notification/schema';
import { CHANNEL_TYPES, sendToChannel, type Channel, type ChannelSendResult } from '@src/channels/channel-sender';
import { bodyOf } from '@src/channels/smtp-catcher';

type Problem = { field: string; message: string };
const INLINE_HINT = 'inline credentials are refused: store the value as a secret (POST /secrets/) and name it';
const CONFIG_KEYS: Record<string, string[]> = { email: ['recipients', 'from'], webhook: ['url', 'signing_secret'], slack: ['url_secret'] };

export class ChannelsService {
  private readonly http: HttpClient;
  private transport: Transporter<SMTPTransport.SentMessageInfo> | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly secrets: SecretsService,
    private readonly config: Pick<AppConfig, 'httpAllowHosts' | 'smtp'>,
  ) {
    this.http = new HttpClient({ allowHosts: config.httpAllowHosts, retry: { attempts: 1 } });
  }

  close(): void {
    this.http.close();
    this.transport?.close();
  }

  async list(): Promise<Channel[]> {
    return this.dataSource.query(`SELECT * FROM notification_channels ORDER BY name`);
  }

  async get(id: number): Promise<Channel> {
    const [row] = await this.dataSource.query(`SELECT * FROM notification_channels WHERE id = $1`, [id]);
    if (!row) throw new NotFoundError('Channel', id);
    return row;
  }

  private async check(body: unknown, partial: boolean, current?: Channel): Promise<Record<string, unknown>> {
    const problems: Problem[] = [];
    const out: Record<string, unknown> = {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationFailedError([{ field: '', message: 'the body must be a JSON object' }]);
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!['name', 'type', 'config', 'description', 'is_active'].includes(k)) problems.push({ field: k, message: /secret|token|password|key/i.test(k) ? INLINE_HINT : 'is not a known field' });
    if (!partial || b.name !== undefined) {
      if (typeof b.name !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,99}$/.test(b.name)) problems.push({ field: 'name', message: 'must be 1-100 lower-case letters, digits, "_", "." or "-"' });
      else out.name = b.name;
    }
    if (!partial || b.type !== undefined) {
      if (!CHANNEL_TYPES.includes(b.type as never)) problems.push({ field: 'type', message: `must be one of ${CHANNEL_TYPES.join(', ')}` });
      else out.type = b.type;
    }
    const type = (out.type ?? current?.type) as string | undefined;
    if (!partial || b.config !== undefined) {
      const c = b.config;
      if (typeof c !== 'object' || c === null || Array.isArray(c)) problems.push({ field: 'config', message: 'must be an object' });
      else if (type) {
        const cfg = c as Record<string, unknown>;
        for (const k of Object.keys(cfg)) if (!CONFIG_KEYS[type].includes(k)) problems.push({ field: `config.${k}`, message: /secret|token|password|key/i.test(k) ? INLINE_HINT : `is not a field of a ${type} channel (${CONFIG_KEYS[type].join(', ')})` });
        if (type === 'email') {
          const r = cfg.recipients;
          if (!Array.isArray(r) || r.length === 0 || r.length > 100 || r.some((a) => typeof a !== 'string' || !EMAIL_ADDRESS.test(a))) problems.push({ field: 'config.recipients', message: 'must be a list of 1 to 100 email addresses' });
          if (cfg.from !== undefined && (typeof cfg.from !== 'string' || !EMAIL_ADDRESS.test(cfg.from))) problems.push({ field: 'config.from', message: 'must be an email address' });
        }
        if (type === 'webhook') {
          let ok = false;
          try {
            const u = new URL(String(cfg.url));
            ok = ['http:', 'https:'].includes(u.protocol) && !u.username && !u.password;
          } catch {
            ok = false;
          }
          if (!ok) problems.push({ field: 'config.url', message: 'must be an http(s) URL without credentials' });
        }
        for (const k of ['signing_secret', 'url_secret'] as const) {
          if (!CONFIG_KEYS[type].includes(k)) continue;
          const v = cfg[k];
          if (v === undefined && k === 'url_secret') problems.push({ field: `config.${k}`, message: 'is required: the NAME of the secret holding the incoming-webhook URL' });
          else if (v !== undefined && (typeof v !== 'string' || !SECRET_NAME_PATTERN.test(v))) problems.push({ field: `config.${k}`, message: 'must be the NAME of a secret, never its value' });
          else if (typeof v === 'string' && !(await this.secrets.exists(v))) problems.push({ field: `config.${k}`, message: `no secret named ${v}: store it first` });
        }
        out.config = JSON.stringify(cfg);
      }
    }
    if (b.description !== undefined) {
      if (typeof b.description !== 'string' || b.description.length > 1000) problems.push({ field: 'description', message: 'must be a string of at most 1000 characters' });
      else out.description = b.description;
    }
    if (b.is_active !== undefined) {
      if (typeof b.is_active !== 'boolean') problems.push({ field: 'is_active', message: 'must be true or false' });
      else out.is_active = b.is_active;
    }
    if (problems.length > 0) throw new ValidationFailedError(problems);
    return out;
  }

  async create(body: unknown): Promise<Channel> {
    const v = await this.check(body, false);
    const cols = Object.keys(v);
    try {
      const [row] = await this.dataSource.query(
        `INSERT INTO notification_channels (${cols.join(', ')}${v.is_active === false ? ', disabled_at' : ''}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}${v.is_active === false ? ', now()' : ''}) RETURNING *`,
        Object.values(v),
      );
      return row;
    } catch (err) {
      throw taken(err, v.name);
    }
  }

  async update(id: number, body: unknown): Promise<Channel> {
    const current = await this.get(id);
    if ((body as { type?: unknown })?.type !== undefined && (body as { type?: unknown }).type !== current.type && (body as { config?: unknown }).config === undefined) {
      throw new ValidationFailedError([{ field: 'config', message: 'is required when the type changes' }]);
    }
    const v = await this.check(body, true, current);
    const sets = Object.keys(v).map((c, i) => `${c} = $${i + 2}`);
    if (v.is_active === true) sets.push('disabled_at = NULL');
    if (v.is_active === false) sets.push('disabled_at = COALESCE(disabled_at, now())');
    if (sets.length === 0) return current;
    try {
      const [row] = updated<Channel>(await this.dataSource.query(`UPDATE notification_channels SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, [id, ...Object.values(v)]));
      return row;
    } catch (err) {
      throw taken(err, v.name);
    }
  }

  async disable(id: number): Promise<Channel> {
    await this.get(id);
    const [row] = updated<Channel>(
      await this.dataSource.query(`UPDATE notification_channels SET is_active = false, disabled_at = COALESCE(disabled_at, now()), updated_at = now() WHERE id = $1 RETURNING *`, [id]),
    );
    return row;
  }

  /** Deletes a channel; 409 naming the workflows whose steps or config name it. */
  async delete(id: number): Promise<Channel> {
    const channel = await this.get(id);
    const users: Array<{ id: number; code: string }> = await this.dataSource.query(
      `SELECT DISTINCT w.id, w.code FROM workflows w
       LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
       LEFT JOIN workflow_steps s ON s.workflow_version_id = v.id
       WHERE w.deleted_at IS NULL AND (s.config->>'channel' = $1 OR EXISTS (SELECT 1 FROM jsonb_each_text(w.config) e WHERE e.key LIKE '%channel%' AND e.value = $1))
       ORDER BY w.id`,
      [channel.name],
    );
    if (users.length > 0) {
      throw new ConflictError('CHANNEL_IN_USE', `channel ${channel.name} is used by workflow(s) ${users.map((u) => u.code).join(', ')}: disable it instead, or change them first`, { workflows: users });
    }
    await this.dataSource.query(`DELETE FROM notification_channels WHERE id = $1`, [id]);
    return channel;
  }

  /** Loaded on first use, so the API process does not load nodemailer unless an email channel is tested. */
  private async smtp(): Promise<Transporter<SMTPTransport.SentMessageInfo>> {
    if (!this.config.smtp.url) throw new StepError('NOTIFICATION_NOT_CONFIGURED', 'email channels need SMTP_URL (npm start runs a local catcher when it is unset)');
    const { default: nodemailer } = await import('nodemailer');
    this.transport ??= nodemailer.createTransport({ url: this.config.smtp.url, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 });
    return this.transport;
  }

  /** Sends a test message through the channel, the way a run would; reports the outcome or the reason. */
  async test(id: number, actor: string | null): Promise<{ ok: boolean; result: ChannelSendResult | null; reason: string | null }> {
    const channel = await this.get(id);
    const known: string[] = [];
    try {
      const result = await sendToChannel(
        { ...channel, is_active: true },
        {
          subject: `Merchflow test of channel ${channel.name}`,
          text: `This is a test message sent to channel ${channel.name}${actor ? ` by ${actor}` : ''}.`,
          event: 'channel.test',
          data: { channel: channel.name },
          idempotencyKey: `channel-test:${channel.id}:${Date.now()}`,
        },
        {
          http: this.http,
          smtp: () => this.smtp(),
          from: this.config.smtp.from,
          resolveSecret: async (name) => {
            const v = await this.secrets.resolve(name);
            if (!v) throw new StepError('SECRET_NOT_FOUND', `secret ${name} is not stored`);
            known.push(v);
            return v;
          },
        },
      );
      await this.dataSource.query(`UPDATE notification_channels SET last_sent_at = now() WHERE id = $1`, [id]);
      return redact({ ok: true, result, reason: null }, known);
    } catch (err) {
      const code = errorCode(err);
      return redact({ ok: false, result: null, reason: `${code ? `${code}: ` : ''}${(err as Error).message}` }, known);
    }
  }

  /** The local catcher's messages, newest first. */
  async mailbox(limit = 50): Promise<Array<Record<string, unknown>>> {
    const rows: Array<{ id: string; mail_from: string | null; rcpt_to: string[]; subject: string | null; message_id: string | null; raw: string; received_at: Date }> =
      await this.dataSource.query(`SELECT * FROM mailbox_messages ORDER BY id DESC LIMIT $1`, [Math.min(Math.max(limit, 1), 500)]);
    return rows.map((r) => ({ id: Number(r.id), from: r.mail_from, to: r.rcpt_to, subject: r.subject, message_id: r.message_id, received_at: r.received_at, text: bodyOf(r.raw).slice(0, 20_000) }));
  }
}

function taken(err: unknown, name: unknown): unknown {
  const e = err as { code?: string; driverError?: { code?: string } };
  if ((e.driverError?.code ?? e.code) === '23505') return new ValidationFailedError([{ field: 'name', message: `${String(name)} is taken by another channel` }]);
  return err;
}
