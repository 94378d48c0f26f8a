import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@src/config/config.module';
import type { AppConfig } from '@src/config/config';
import { CodecController } from '@src/codec/codec.controller';
import { CODEC_MAX_INFLATED_PER_REQUEST, CODEC_PAYLOAD_CODEC } from '@src/codec/codec-http';
import { payloadCodecs } from '@engine/codec/data-converter';

/** The codec server: Temporal's remote codec protocol over the API's codec chain (compression, then the payload keys). */
@Module({
  controllers: [CodecController],
  providers: [{ provide: CODEC_PAYLOAD_CODEC, useFactory: (config: AppConfig) => payloadCodecs(config, { maxInflatedPerCall: CODEC_MAX_INFLATED_PER_REQUEST }), inject: [APP_CONFIG] }],
})
export class CodecModule {}
