import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Named notification channels (email, signed webhook, Slack-compatible
 * incoming webhook) that notification steps route to by name, and the
 * mailbox of the local SMTP catcher `npm start` runs.
 */
export class NotificationChannels1796223858495 implements MigrationInterface {
  name = 'NotificationChannels1796223858495';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_channels (
        id serial PRIMARY KEY,
        name varchar(100) NOT NULL,
        type varchar(20) NOT NULL,
        config jsonb NOT NULL DEFAULT '{}',
        description text NOT NULL DEFAULT '',
        is_active boolean NOT NULL DEFAULT true,
        disabled_at timestamptz,
        last_sent_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "UQ_notification_channels_name" UNIQUE (name),
        CONSTRAINT "CHK_notification_channels_type" CHECK (type IN ('email', 'webhook', 'slack'))
      )`);
    await q.query(`
      CREATE TABLE mailbox_messages (
        id bigserial PRIMARY KEY,
        mail_from text,
        rcpt_to jsonb NOT NULL DEFAULT '[]',
        subject text,
        message_id text,
        raw text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "IDX_mailbox_messages_received" ON mailbox_messages (received_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS mailbox_messages`);
    await q.query(`DROP TABLE IF EXISTS notification_channels`);
  }
}
