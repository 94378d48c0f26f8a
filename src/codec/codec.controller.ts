import { Body, Controller, Delete, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Public, RequireRole } from '@src/auth/roles';
import { presentedKey } from '@src/auth/api-key.guard';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { AppError, ValidationFailedError } from '@src/common/errors';
import { CODEC_PAYLOAD_CODEC, CODEC_SESSION_COOKIE, codecPath } from '@src/codec/codec-http';
import { PayloadCodecError } from '@engine/codec/encryption-codec';
import { PayloadInflateError } from '@engine/codec/compression-codec';
import { decodeWith, encodeWith } from '@engine/codec/data-converter';
import { ErrorCodes } from '@engine/shared/contracts';

/** A payload in Temporal's remote codec protocol: protobuf JSON, so metadata values and data are base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** Most payloads one request may carry (the Web UI sends one event's payloads at a time). */
const MAX_PAYLOADS = 1000;

/** Reads `{ payloads: [...] }`; every problem names its field. */
export function parsePayloads(body: unknown): Payload[] {
  const errors: Array<{ field: string; message: string }> = [];
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new ValidationFailedError([{ field: 'payloads', message: 'expected an array of payloads ({"payloads": [{"metadata": {...}, "data": "<base64>"}]})' }]);
  if (list.length > MAX_PAYLOADS) throw new ValidationFailedError([{ field: 'payloads', message: `at most ${MAX_PAYLOADS} payloads per request, got ${list.length}` }]);
  const payloads = list.map((raw, i): Payload => {
    const field = `payloads[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      errors.push({ field, message: 'expected an object with metadata and data' });
      return {};
    }
    const p = raw as JsonPayload;
    const metadata: Record<string, Uint8Array> = {};
    if (p.metadata !== undefined && p.metadata !== null) {
      if (typeof p.metadata !== 'object' || Array.isArray(p.metadata)) errors.push({ field: `${field}.metadata`, message: 'expected an object of base64 strings' });
      else {
        for (const [k, v] of Object.entries(p.metadata)) {
          if (typeof v !== 'string' || !BASE64.test(v)) errors.push({ field: `${field}.metadata.${k}`, message: 'expected a base64 string' });
          else metadata[k] = Buffer.from(v, 'base64');
        }
      }
    }
    if (p.data !== undefined && p.data !== null && (typeof p.data !== 'string' || !BASE64.test(p.data))) errors.push({ field: `${field}.data`, message: 'expected a base64 string' });
    return { metadata, data: typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : new Uint8Array() };
  });
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return payloads;
}

export function toJsonPayloads(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

/**
 * Temporal's remote codec protocol, so the Temporal Web UI and CLI show
 * decrypted payloads to an operator: `POST /codec/decode` and
 * `POST /codec/encode` with `{"payloads": [...]}`. Needs an operator key (as
 * a header, or the session cookie set by `POST /codec/session`); browsers may
 * call it from the Web UI's origin (CODEC_CORS_ORIGINS).
 */
@ApiTags('codec')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('codec')
export class CodecController {
  constructor(
    @Inject(CODEC_PAYLOAD_CODEC) private readonly codecs: PayloadCodec[],
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('decode')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Decodes Temporal payloads: decrypts and inflates (remote codec protocol; operator)' })
  async decode(@Body() body: unknown) {
    const payloads = parsePayloads(body);
    try {
      return toJsonPayloads(await decodeWith(this.codecs, payloads));
    } catch (err) {
      if (err instanceof PayloadCodecError) {
        const index = await this.firstFailing(payloads);
        throw new AppError(err.code, `payloads[${index}]: ${err.message}`, 422, { field: `payloads[${index}]`, ...(err.keyId ? { key_id: err.keyId } : {}) });
      }
      if (err instanceof PayloadInflateError) {
        const index = await this.firstFailing(payloads);
        throw new AppError(ErrorCodes.PAYLOAD_INFLATE_FAILED, `payloads[${index}]: ${err.message}`, 422, { field: `payloads[${index}]` });
      }
      throw err;
    }
  }

  @Post('encode')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Encodes Temporal payloads: compresses large ones, encrypts with the active key (remote codec protocol; operator)' })
  async encode(@Body() body: unknown) {
    return toJsonPayloads(await encodeWith(this.codecs, parsePayloads(body)));
  }

  /**
   * Keeps the presented key in an HttpOnly cookie scoped to the codec
   * endpoints, for the Temporal Web UI, which cannot send a header of ours but
   * can send cookies ("Include cross-origin credentials").
   */
  @Post('session')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Sets the codec session cookie for the Temporal Web UI (operator)' })
  session(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    res.cookie(CODEC_SESSION_COOKIE, presentedKey(req)!, this.cookieOptions(req));
    return { codec_endpoint: `${req.protocol}://${req.get('host')}${codecPath(this.config)}`, cookie: CODEC_SESSION_COOKIE, expires: 'when the browser closes' };
  }

  @Delete('session')
  @HttpCode(200)
  @Public()
  @ApiOperation({ summary: 'Clears the codec session cookie (no key needed)' })
  endSession(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    res.clearCookie(CODEC_SESSION_COOKIE, this.cookieOptions(req));
    return { cleared: true };
  }

  private cookieOptions(req: Request) {
    return { httpOnly: true, sameSite: 'strict' as const, secure: req.secure, path: codecPath(this.config) };
  }

  private async firstFailing(payloads: Payload[]): Promise<number> {
    for (let i = 0; i < payloads.length; i++) {
      try {
        await decodeWith(this.codecs, [payloads[i]]);
      } catch {
        return i;
      }
    }
    return 0;
  }
}
