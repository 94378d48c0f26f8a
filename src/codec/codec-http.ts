import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '@src/config/config';

/** Injection token of the API's payload codecs, in encoding order (the chain its Temporal client uses). */
export const CODEC_PAYLOAD_CODEC = Symbol('CODEC_PAYLOAD_CODEC');
/** The most the codec endpoint inflates for one request, all its compressed payloads together (32 MiB). */
export const CODEC_MAX_INFLATED_PER_REQUEST = 32 * 1024 * 1024;
/** The HttpOnly cookie carrying an operator's key to the codec endpoints only. */
export const CODEC_SESSION_COOKIE = 'merchflow_codec_key';

export function codecPath(config: AppConfig): string {
  return `${config.http.basePath}/codec`;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || null;
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * What the codec endpoints need before Nest routes a request:
 * CORS for the Temporal Web UI's origins only (preflight included; the UI
 * sends Content-Type and X-Namespace, and Authorization when it passes a
 * token), with credentials so the session cookie travels; and the session
 * cookie turned into the key header the global API-key guard reads, when no
 * key header was sent. Other routes get no CORS headers at all.
 */
export function mountCodecHttp(app: INestApplication, config: AppConfig): void {
  const base = codecPath(config);
  const onCodec = (url: string | undefined) => url === base || (url ?? '').startsWith(`${base}/`) || (url ?? '').startsWith(`${base}?`);
  app.enableCors((req: Request, cb: (err: Error | null, options: object) => void) => {
    if (!onCodec(req.url)) return cb(null, { origin: false });
    cb(null, {
      origin: config.codecCorsOrigins,
      credentials: true,
      methods: ['POST', 'DELETE'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Namespace'],
      maxAge: 600,
    });
  });
  app.use(base, (req: Request, _res: Response, next: NextFunction) => {
    if (!req.headers.authorization && !req.headers['x-api-key']) {
      const key = cookieValue(req.headers.cookie, CODEC_SESSION_COOKIE);
      if (key) req.headers['x-api-key'] = key;
    }
    next();
  });
}
