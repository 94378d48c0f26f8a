import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { Response } from 'express';
import { Actor, RequireRole } from '@src/auth/roles';
import { SecretsService, type SecretInfo } from '@src/secrets/secrets.service';

export class SetSecretDto {
  @ApiProperty({ description: 'The value; stored encrypted and never returned by any endpoint.', writeOnly: true })
  @IsString()
  value: string;

  @ApiPropertyOptional({ maxLength: 1000 })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;
}

/** A new secret: its name and, as when setting one, its value and description. */
export class CreateSecretDto extends SetSecretDto {
  @ApiProperty({ example: 'ACME_API_TOKEN', description: 'A letter, then letters, digits, "_", "." or "-" (at most 128).' })
  @IsString()
  name: string;
}

export function presentSecret(s: SecretInfo) {
  return { name: s.name, description: s.description, created_by: s.created_by, created_at: s.created_at, updated_at: s.updated_at, last_used_at: s.last_used_at };
}

/** Write-only secret management, for admins: no endpoint returns a value. */
@ApiTags('secrets')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('secrets')
@RequireRole('admin')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @ApiOperation({ summary: 'List secrets: name, description, created, updated, last used (never a value)' })
  async list() {
    const results = (await this.secrets.list()).map(presentSecret);
    return { count: results.length, results };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One secret: name and times (never its value)' })
  async get(@Param('name') name: string) {
    return presentSecret(await this.secrets.get(name));
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a secret (409 when the name exists: use PUT to replace its value)' })
  async create(@Body() body: CreateSecretDto, @Actor() actor: string | null) {
    return presentSecret((await this.secrets.set({ ...body, actor, mustBeNew: true })).secret);
  }

  @Put(':name')
  @ApiOperation({ summary: 'Set a secret: creates it (201) or replaces its value (200)' })
  async set(@Param('name') name: string, @Body() body: SetSecretDto, @Actor() actor: string | null, @Res({ passthrough: true }) res: Response) {
    const { secret, created } = await this.secrets.set({ name, value: body.value, description: body.description, actor });
    res.status(created ? 201 : 200);
    return presentSecret(secret);
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Delete a secret (409 while a connection names it)' })
  async remove(@Param('name') name: string) {
    return presentSecret(await this.secrets.delete(name));
  }
}
