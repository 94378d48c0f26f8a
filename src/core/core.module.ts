import { type DynamicModule, Global, Module } from '@nestjs/common';
import { stepTypeRegistry } from '@engine/activities/registry';
import { TemporalClientService } from '@src/temporal-client/temporal-client.service';
import { TEMPLATES } from '@src/workflows/templates';
import { rootLogger } from '@src/logging/logger';
import type { AppOptions } from '@src/core/app-options';
import { API_LOGGER, STEP_TYPE_REGISTRY, WORKFLOW_TEMPLATES } from '@src/core/tokens';

/**
 * What every area shares: the Temporal client, the step type registry the
 * definitions are validated against, the template registry and the logger.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: AppOptions = {}): DynamicModule {
    return {
      module: CoreModule,
      global: true,
      providers: [
        TemporalClientService,
        { provide: STEP_TYPE_REGISTRY, useFactory: () => stepTypeRegistry(options.stepTypes ?? []) },
        { provide: WORKFLOW_TEMPLATES, useValue: options.templates ?? TEMPLATES },
        { provide: API_LOGGER, useFactory: () => (options.logger ?? rootLogger()).child({ component: 'api' }) },
      ],
      exports: [TemporalClientService, STEP_TYPE_REGISTRY, WORKFLOW_TEMPLATES, API_LOGGER],
    };
  }
}
