/**
 * The local SMTP catcher `npm start` runs when SMTP_URL is unset: a real SMTP
 * server (smtp-server) on loopback that accepts every message and keeps it in
 * the `mailbox_messages` table, where the API (`/mailbox/`) and the admin UI
 * show it. Development only: nothing leaves the machine.
 */
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';

export interface CaughtMail {
  from: string | null;
  to: string[];
  raw: string;
}

export interface SmtpCatcher {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Largest message kept (the rest is refused with 552). */
const MAX_MESSAGE_BYTES = 5 * 1024 * 1024;

/** The value of a header of a raw message (unfolded), or null. */
export function headerOf(raw: string, name: string): string | null {
  const head = raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return m ? m[1].trim() : null;
}

/** The text after the headers (as sent: no MIME decoding beyond what a text/plain message needs). */
export function bodyOf(raw: string): string {
  const at = raw.search(/\r?\n\r?\n/);
  return at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
}

export async function startSmtpCatcher(opts: { port?: number; host?: string; store: (mail: CaughtMail) => Promise<void> }): Promise<SmtpCatcher> {
  // Loaded here, not at import: the API reads caught mail (bodyOf) without loading the SMTP server and its nodemailer.
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: MAX_MESSAGE_BYTES,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail: CaughtMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        opts.store(mail).then(
          () => cb(),
          (err: Error) => cb(Object.assign(new Error(`could not keep the message: ${err.message}`), { responseCode: 451 })),
        );
      });
    },
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return { port, url: `smtp://${host}:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Keeps a caught message in the mailbox table. */
export function mailboxStore(dataSource: DataSource): (mail: CaughtMail) => Promise<void> {
  return async (mail) => {
    await dataSource.query(`INSERT INTO mailbox_messages (mail_from, rcpt_to, subject, message_id, raw) VALUES ($1, $2, $3, $4, $5)`, [
      mail.from,
      JSON.stringify(mail.to),
      headerOf(mail.raw, 'Subject'),
      headerOf(mail.raw, 'Message-ID'),
      mail.raw,
    ]);
  };
}
