import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Actor, RequireRole } from '@src/auth/roles';
import { IntIdPipe } from '@src/common/http/params';
import { ChannelsService } from '@src/channels/channels.service';

/** Named notification channels that notification steps route to, and the local mailbox. */
@ApiTags('channels')
@ApiBearerAuth()
@ApiSecurity('api_key')
@Controller()
export class ChannelsController {
  constructor(private readonly channels: ChannelsService) {}

  @Get('channels')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List notification channels (secrets by name only)' })
  async list() {
    const results = await this.channels.list();
    return { count: results.length, results };
  }

  @Get('channels/:id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One notification channel (secrets by name only)' })
  get(@Param('id', new IntIdPipe()) id: number) {
    return this.channels.get(id);
  }

  @Post('channels')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiBody({
    schema: {
      type: 'object',
      example: { name: 'ops-email', type: 'email', config: { recipients: ['ops@example.com'] } },
      description: 'email: {recipients, from?}; webhook: {url, signing_secret?: SECRET_NAME}; slack: {url_secret: SECRET_NAME}',
    },
  })
  @ApiOperation({ summary: 'Create a channel (email, webhook signed with HMAC-SHA256, Slack-compatible incoming webhook)' })
  create(@Body() body: Record<string, unknown>) {
    return this.channels.create(body);
  }

  @Patch('channels/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Change a channel (type, config, description, is_active)' })
  update(@Param('id', new IntIdPipe()) id: number, @Body() body: Record<string, unknown>) {
    return this.channels.update(id, body);
  }

  @Post('channels/:id/disable')
  @HttpCode(200)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Disable a channel: runs routed to it fail with CHANNEL_DISABLED; its history is kept' })
  disable(@Param('id', new IntIdPipe()) id: number) {
    return this.channels.disable(id);
  }

  @Delete('channels/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Delete a channel (409 naming the workflows that route to it)' })
  remove(@Param('id', new IntIdPipe()) id: number) {
    return this.channels.delete(id);
  }

  @Post('channels/:id/test')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Send a test message through the channel, the way a run does' })
  test(@Param('id', new IntIdPipe()) id: number, @Actor() actor: string | null) {
    return this.channels.test(id, actor);
  }

  @Get('mailbox')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Messages the local SMTP catcher of npm start received, newest first' })
  async mailbox(@Query('limit') limit?: string) {
    const results = await this.channels.mailbox(limit && /^\d+$/.test(limit) ? Number(limit) : 50);
    return { count: results.length, results };
  }
}
