import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, type Type } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@src/auth/roles';
import { ValidationFailedError } from '@src/common/errors';
import { IntIdPipe } from '@src/common/http/params';
import type { ConnectionKind } from '@src/connections/connection-validation';
import { Connections } from '@src/connections/connections.registry';

const EXAMPLE = {
  code: 'acme',
  name: 'ACME Wholesale',
  endpoint: 'http://127.0.0.1:4010/supplier/v1',
  platform: 'sandbox',
  credentials: { type: 'bearer', secret: 'ACME_API_TOKEN' },
  field_mapping: { sku: 'sku', title: '$trim(title)' },
  rate_budget: { requests_per_second: 10, burst: 20, max_concurrent: 4 },
  settings: { page_size: 500 },
};

function parseActive(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ValidationFailedError([{ field: 'active', message: 'must be true or false' }]);
}

/** The REST resource of one connection kind (`/suppliers/`, `/marketplaces/`, `/carriers/`). */
export function connectionsController(kind: ConnectionKind): Type<unknown> {
  @ApiTags('connections')
  @ApiBearerAuth()
  @ApiSecurity('api_key')
  @Controller(kind)
  class ConnectionsController {
    constructor(readonly connections: Connections) {}

    @Get()
    @RequireRole('viewer')
    @ApiQuery({ name: 'active', required: false, type: Boolean })
    @ApiOperation({ summary: `List ${kind} (credentials show secret names only)` })
    async list(@Query('active') active?: string) {
      const results = await this.connections.of(kind).list({ active: parseActive(active) });
      return { count: results.length, results };
    }

    @Get(':id')
    @RequireRole('viewer')
    @ApiOperation({ summary: `One of the ${kind}` })
    get(@Param('id', new IntIdPipe()) id: number) {
      return this.connections.of(kind).get(id);
    }

    @Post()
    @HttpCode(201)
    @RequireRole('admin')
    @ApiBody({ schema: { type: 'object', example: EXAMPLE } })
    @ApiOperation({ summary: `Create one of the ${kind}: credentials name a secret, never hold a value (400 naming the field otherwise)` })
    create(@Body() body: Record<string, unknown>) {
      return this.connections.of(kind).create(body);
    }

    @Patch(':id')
    @RequireRole('admin')
    @ApiBody({ schema: { type: 'object', example: { name: 'ACME', rate_budget: { requests_per_second: 5 } } } })
    @ApiOperation({ summary: 'Change some fields (the same validation as create)' })
    update(@Param('id', new IntIdPipe()) id: number, @Body() body: Record<string, unknown>) {
      return this.connections.of(kind).update(id, body);
    }

    @Post(':id/disable')
    @HttpCode(200)
    @RequireRole('admin')
    @ApiOperation({ summary: 'Disable: runs stop using it; its history stays (enable again with PATCH {"is_active": true})' })
    disable(@Param('id', new IntIdPipe()) id: number) {
      return this.connections.of(kind).disable(id);
    }

    @Delete(':id')
    @RequireRole('admin')
    @ApiOperation({ summary: 'Delete: 409 naming the schedules that use it, or when rows refer to it (disable it instead)' })
    remove(@Param('id', new IntIdPipe()) id: number) {
      return this.connections.of(kind).delete(id);
    }

    @Post(':id/test')
    @HttpCode(200)
    @RequireRole('operator')
    @ApiOperation({ summary: 'One cheap authenticated read: reachable, authenticated, a sample item as mapped, or the reason' })
    test(@Param('id', new IntIdPipe()) id: number) {
      return this.connections.of(kind).test(id);
    }
  }
  Object.defineProperty(ConnectionsController, 'name', { value: `${kind[0].toUpperCase()}${kind.slice(1)}Controller` });
  return ConnectionsController;
}
