import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@src/auth/roles';
import { STEP_TYPE_REGISTRY } from '@src/core/tokens';
import type { StepTypeRegistry } from '@engine/dsl/types';
import { stepTypeCatalogue, type StepTypeInfo } from '@src/workflows/step-types';

/** The step types a definition may use, with their config schemas: what the admin editor builds its forms from. */
@ApiTags('workflows')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('step-types')
export class StepTypesController {
  private catalogue: { count: number; results: StepTypeInfo[] } | null = null;

  constructor(@Inject(STEP_TYPE_REGISTRY) private readonly registry: StepTypeRegistry) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The step types: description, config JSON Schema (null when the type has none) and an example config' })
  list() {
    // The registry is fixed at boot: build the schemas once.
    if (!this.catalogue) {
      const results = stepTypeCatalogue(this.registry);
      this.catalogue = { count: results.length, results };
    }
    return this.catalogue;
  }
}
