import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { OpenAPIObject } from '@nestjs/swagger';
import { exportOpenApi } from '@src/docs/export';
import { OPERATION_RESPONSES, completeContract } from '@src/docs/openapi';
import { DOCUMENT_FILE, TYPES_FILE, generateContract } from '../../../scripts/openapi';

type Op = { operationId: string; responses: Record<string, { $ref?: string; content?: Record<string, { schema?: { $ref?: string; type?: string } }> }>; security?: unknown[] };

function operations(doc: OpenAPIObject): Array<[string, Op]> {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item as Record<string, Op>)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([m, op]): [string, Op] => [`${m.toUpperCase()} ${p}`, op]),
  );
}

describe('OpenAPI contract', () => {
  let doc: OpenAPIObject;
  before(async () => {
    doc = await exportOpenApi();
  });

  it('gives every operation a success response with a schema, its 4xx in the error shape, and its security', () => {
    const ops = operations(doc);
    assert.ok(ops.length >= 30, `only ${ops.length} operations`);
    const schemas = doc.components?.schemas ?? {};
    for (const [name, op] of ops) {
      const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
      assert.equal(success.length, 1, `${name}: one success response`);
      const [status, res] = success[0];
      const download = OPERATION_RESPONSES[op.operationId ?? '']?.media;
      if (download) {
        // A download: each of its media types, a string body.
        assert.deepEqual(Object.keys(res.content ?? {}), download, `${name}: the download's media types`);
        for (const m of download) assert.equal(res.content?.[m]?.schema?.type, 'string', `${name}: ${m} body`);
      } else if (status !== '204') {
        const ref = res.content?.['application/json']?.schema?.$ref;
        assert.ok(ref, `${name}: ${status} has no JSON schema`);
        assert.ok(schemas[ref.split('/').pop()!], `${name}: ${ref} is not a component`);
      }
      const secured = (op.security ?? []).length > 0;
      assert.ok(Array.isArray(op.security), `${name}: security not declared`);
      if (secured) {
        assert.deepEqual(op.security, [{ bearer: [] }, { api_key: [] }], `${name}: both key schemes`);
        assert.equal(op.responses['401']?.$ref, '#/components/responses/Error401', `${name}: 401`);
        assert.equal(op.responses['403']?.$ref, '#/components/responses/Error403', `${name}: 403`);
      }
      if (name.includes('{')) assert.equal(op.responses['404']?.$ref, '#/components/responses/Error404', `${name}: 404`);
    }
    const publicOps = ops.filter(([, op]) => (op.security ?? []).length === 0).map(([n]) => n).sort();
    assert.deepEqual(publicOps, ['DELETE /codec/session', 'GET /health']);
    const errorResponse = (doc.components?.responses as Record<string, { content: Record<string, { schema: { $ref: string } }> }>).Error400;
    assert.equal(errorResponse.content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.deepEqual((schemas.Error as { required: string[] }).required, ['code', 'message', 'details']);
  });

  it('refuses an operation that has no response schema', () => {
    const bare = structuredClone(doc);
    (bare.paths['/stats'] as Record<string, unknown>).put = { operationId: 'StatsController_replace', responses: { '200': { description: 'ok' } } };
    assert.throws(() => completeContract(bare), /StatsController_replace has no entry in OPERATION_RESPONSES/);
  });

  it('matches the committed document and generated client types (run `npm run openapi -- generate` after an API change)', async () => {
    const fresh = await generateContract();
    assert.equal(fs.readFileSync(DOCUMENT_FILE, 'utf8'), fresh.document, `${DOCUMENT_FILE} is stale`);
    assert.equal(fs.readFileSync(TYPES_FILE, 'utf8'), fresh.types, `${TYPES_FILE} is stale`);
  });

  it("passes Redocly's recommended rules", () => {
    const root = path.resolve(path.dirname(DOCUMENT_FILE), '../..');
    const res = spawnSync(path.join(root, 'node_modules/.bin/redocly'), ['lint', 'src/api-client/openapi.json', '--config', 'redocly.yaml', '--format', 'json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(res.stdout.slice(res.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number; ignored: number }; problems: Array<{ ruleId: string; message: string }> };
    assert.deepEqual(report.problems.map((p) => `${p.ruleId}: ${p.message}`), []);
    assert.equal(report.totals.errors, 0);
    assert.equal(res.status, 0);
  });
});
