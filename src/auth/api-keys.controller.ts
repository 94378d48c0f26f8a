import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsDate, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { type ApiKey, type Role, ROLES } from '@src/auth/api-key.entity';
import { ApiKeysService } from '@src/auth/api-keys.service';
import { Actor, RequireRole } from '@src/auth/roles';
import { AppError } from '@src/common/errors';
import { PageQueryDto, pageRequest } from '@src/common/http/pagination';
import { IntIdPipe } from '@src/common/http/params';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci-pipeline', maxLength: 100 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: ROLES, example: 'operator' })
  @IsIn(ROLES)
  role: Role;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'When the key stops working; never by default.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expires_at?: Date;
}

export class ListApiKeysQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ type: Boolean, default: false })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  include_revoked?: boolean;
}

export function presentKey(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    role: k.role,
    source: k.source,
    created_by: k.created_by,
    created_at: k.created_at,
    expires_at: k.expires_at,
    last_used_at: k.last_used_at,
    revoked_at: k.revoked_at,
    is_active: k.revoked_at === null && (k.expires_at === null || k.expires_at.getTime() > Date.now()),
  };
}

/** Key management, for admins. The plaintext key is returned once, at creation. */
@ApiTags('api-keys')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller('api-keys')
@RequireRole('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get()
  @ApiOperation({ summary: 'List API keys (never their secrets)' })
  async list(@Query() q: ListApiKeysQueryDto) {
    const page = await this.keys.list(pageRequest(q), { include_revoked: q.include_revoked });
    return { ...page, results: page.results.map(presentKey) };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a key; the response holds the plaintext key, shown only this once' })
  async create(@Body() body: CreateApiKeyDto, @Actor() actor: string | null) {
    if (body.expires_at && body.expires_at.getTime() <= Date.now()) {
      throw new AppError('VALIDATION_FAILED', 'expires_at: must be in the future', 400, { errors: [{ field: 'expires_at', message: 'must be in the future' }] });
    }
    const { record, key } = await this.keys.create({ name: body.name, role: body.role, created_by: actor, expires_at: body.expires_at ?? null });
    return { ...presentKey(record), key };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key' })
  async revoke(@Param('id', new IntIdPipe()) id: number) {
    return presentKey(await this.keys.revoke(id));
  }
}
