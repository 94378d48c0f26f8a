import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigModule } from '@src/config/config.module';
import { appConfig } from '@src/config/config';
import { dataSourceOptions } from '@src/database/data-source';
import { HealthController } from '@src/health/health.controller';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';

@Module({
  imports: [
    ConfigModule,
    TypeOrmModule.forRootAsync({
      useFactory: () => ({ ...dataSourceOptions(appConfig()), retryAttempts: 2, retryDelay: 1000 }),
    }),
  ],
  controllers: [HealthController],
  providers: [TemporalClientService],
  exports: [TemporalClientService],
})
export class AppModule {}
