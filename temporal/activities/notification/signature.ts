/**
 * Webhook signatures: HMAC-SHA256 over `${timestamp}.${body}`, sent as
 * `X-Merchflow-Signature: t=<unix seconds>,v1=<hex>`. Signing the timestamp
 * with the body lets a receiver reject replays older than its tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Merchflow-Signature';
export const TIMESTAMP_HEADER = 'X-Merchflow-Timestamp';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * The signature header value for `body` sent at `timestamp` (unix seconds).
 *
 * @example signatureHeader('s3cret', 1700000000, '{"a":1}') // 't=1700000000,v1=5d9f…'
 */
export function signatureHeader(secret: string, timestamp: number, body: string | Buffer): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;
}

/** Parses `t=<unix>,v1=<hex>[,v1=<hex>...]`; null when malformed. */
export function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return null;
      timestamp = Number(value);
    } else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) {
      signatures.push(value.toLowerCase());
    }
    // Other schemes (v0, future versions) are ignored, so senders can add them without breaking receivers.
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

/**
 * For receivers: true when `header` carries a v1 signature of `body` made
 * with `secret` at a timestamp within `toleranceSeconds` of now. Pass the
 * raw request body exactly as received (not re-serialised JSON). Several v1
 * entries are accepted, so a sender can sign with an old and a new secret
 * while keys rotate. Compares in constant time.
 *
 * @example
 * if (!verifyWebhookSignature(process.env.HOOK_SECRET, req.headers['x-merchflow-signature'], rawBody, 300)) res.status(401);
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | undefined | null,
  body: string | Buffer,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (!secret || typeof value !== 'string') return false;
  const parsed = parseSignatureHeader(value);
  if (!parsed) return false;
  if (Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(computeSignature(secret, parsed.timestamp, body), 'hex');
  return parsed.signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
