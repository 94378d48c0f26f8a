import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateDatabaseQueryConfig, createDatabaseQueryValidator } from '@engine/activities/database_query/schema';
import { checkRawSql, wrapRawSql } from '@engine/activities/database_query/raw-sql';
import { selectSql, updateSql, writeSql, deleteSql, QueryConfigError } from '@engine/activities/database_query/sql';
import { canonicalJson, coerceValue, contentHash } from '@engine/activities/database_query/values';
import { DATABASE_MODELS, assertModels, type ModelRegistry } from '@engine/activities/database_query/models';
import { itemsOf, writePlan } from '@engine/activities/database_query/executor';

const sut = validateDatabaseQueryConfig;
const INJECTION = "'); DROP TABLE source_data; --";
const fields = (config: Record<string, unknown>) => sut(config).map((i) => i.field);

describe('validateDatabaseQueryConfig', () => {
  it("accepts the specification's insert config", () => {
    assert.deepEqual(sut({ query_type: 'insert', model: 'SourceData', record_mapping: { source_type: 'supplier_product', raw_data: '$' } }), []);
  });

  it('accepts upsert, select, update, delete and raw configs with references where values go', () => {
    assert.deepEqual(
      sut({
        query_type: 'upsert',
        model: 'SourceData',
        items_field: 'products',
        batch_size: '$config.batch',
        record_mapping: { source_type: 'supplier_product', supplier_id: '$input.supplier_id', external_id: '$sku', raw_data: '$' },
        returning: ['id', 'external_id'],
      }),
      [],
    );
    assert.deepEqual(
      sut({
        query_type: 'select',
        model: 'SourceData',
        fields: ['id', 'raw_data'],
        where: [{ field: 'status', value: 'new' }, { field: 'raw_data.price', operator: '>', value: 10 }, { field: 'supplier_id', operator: 'in', value: '$input.ids' }],
        order_by: ['created_at desc', '-id'],
        limit: '$input.limit',
      }),
      [],
    );
    assert.deepEqual(sut({ query_type: 'select', model: 'SourceData', where: { source_type: 'x', status: 'new' } }), []);
    assert.deepEqual(sut({ query_type: 'update', model: 'SourceData', per_item: true, where: [{ field: 'id', value: '$id' }], set: { status: 'processed' } }), []);
    assert.deepEqual(sut({ query_type: 'delete', model: 'SourceData', where: [{ field: 'status', value: 'obsolete' }], max_rows: 50 }), []);
    assert.deepEqual(sut({ query_type: 'raw', sql: 'SELECT count(*) FROM source_data WHERE status = $1;', params: ['new'] }), []);
  });

  it('rejects identifiers outside the allow-list, naming the field', () => {
    assert.deepEqual(fields({ query_type: 'insert', model: 'pg_authid', record_mapping: {} }), ['model']);
    assert.deepEqual(fields({ query_type: 'insert', model: 'SourceData', record_mapping: { source_type: 'x', raw_data: '$', [`status${INJECTION}`]: 'y' } }), [
      `record_mapping.status${INJECTION}`,
    ]);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', where: [{ field: '1=1 OR true', value: 1 }] }), ['where[0].field']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', order_by: `id; ${INJECTION}` }), ['order_by[0]']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', fields: ['id', 'password'] }), ['fields[1]']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', where: [{ field: 'raw_data.a;b', value: 1 }] }), ['where[0].field']);
    assert.deepEqual(fields({ query_type: 'update', model: 'SourceData', where: { id: 1 }, set: { [INJECTION]: 1 } }), [`set.${INJECTION}`]);
  });

  it('refuses writes to engine-managed columns and missing required ones', () => {
    const issues = sut({ query_type: 'insert', model: 'SourceData', record_mapping: { raw_data: '$', id: 5, execution_id: 'x' } });
    assert.deepEqual(issues.map((i) => i.field).sort(), ['record_mapping.execution_id', 'record_mapping.id', 'record_mapping.source_type']);
  });

  it('checks literal values against the column type but leaves references for run time', () => {
    assert.deepEqual(fields({ query_type: 'insert', model: 'SourceData', record_mapping: { source_type: 'x'.repeat(51), raw_data: '$' } }), [
      'record_mapping.source_type',
    ]);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', where: [{ field: 'supplier_id', value: 'abc' }] }), ['where[0].value']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', where: [{ field: 'supplier_id', value: '$input.id' }] }), []);
  });

  it('rejects unknown options, operators, query types and bad numbers', () => {
    assert.deepEqual(fields({ query_type: 'merge', model: 'SourceData' }), ['query_type']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', recordmapping: {} }), ['recordmapping']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', where: [{ field: 'id', operator: 'regex', value: 1 }] }), ['where[0].operator']);
    assert.deepEqual(fields({ query_type: 'select', model: 'SourceData', limit: 0 }), ['limit']);
    assert.deepEqual(fields({ query_type: 'insert', model: 'SourceData', batch_size: 'lots', record_mapping: { source_type: 'x', raw_data: '$' } }), ['batch_size']);
  });

  it('requires conditions for update and delete, and an opt-in for delete', () => {
    assert.deepEqual(fields({ query_type: 'update', model: 'SourceData', where: [], set: { status: 'x' } }), ['where']);
    assert.deepEqual(fields({ query_type: 'delete', model: 'SourceData', where: {} }), ['where']);
    const models: ModelRegistry = { Locked: { table: 'locked', columns: { id: 'bigint' } } };
    assert.deepEqual(
      createDatabaseQueryValidator(models)({ query_type: 'delete', model: 'Locked', where: { id: 1 } }).map((i) => i.field),
      ['query_type'],
    );
  });

  it('refuses raw SQL that is not a single read query', () => {
    assert.deepEqual(fields({ query_type: 'raw', sql: `SELECT 1; DROP TABLE source_data` }), ['sql']);
    assert.deepEqual(fields({ query_type: 'raw', sql: 'DELETE FROM source_data' }), ['sql']);
    assert.deepEqual(fields({ query_type: 'raw', sql: 'WITH x AS (SELECT 1) SELECT * FROM x', params: [] }), []);
  });
});

describe(checkRawSql.name, () => {
  it('ignores semicolons and keywords inside literals, identifiers, dollar quotes and comments', () => {
    const sql = `SELECT ';', E'\\';', "a;""b", $q$;DROP$q$ /* ; /* nested ; */ */ -- ;\nFROM t WHERE x = $1 AND y = $2;`;
    const r = checkRawSql(sql);
    assert.ok(!('error' in r), JSON.stringify(r));
    assert.equal(r.maxPlaceholder, 2);
    assert.ok(r.sql.endsWith('$2'));
  });

  it('refuses a second statement, writes, and unterminated literals', () => {
    assert.deepEqual(checkRawSql(`SELECT 1; ${INJECTION}`), { error: 'only one statement is allowed' });
    assert.match((checkRawSql('UPDATE t SET a = 1') as { error: string }).error, /not UPDATE/);
    assert.match((checkRawSql("SELECT 'open") as { error: string }).error, /unterminated/);
    assert.match((checkRawSql('SELECT 1 /* open') as { error: string }).error, /unterminated/);
    assert.match((checkRawSql('  -- nothing\n') as { error: string }).error, /empty/);
  });

  it('wraps the query so only a query parses and a trailing comment cannot swallow the limit', () => {
    assert.equal(wrapRawSql('SELECT 1 -- c', 1), 'SELECT * FROM (\nSELECT 1 -- c\n) AS raw_query LIMIT $1::bigint');
  });
});

describe('database_query SQL', () => {
  const model = DATABASE_MODELS.SourceData;

  it('binds every value and takes identifiers only from the model', () => {
    const q = selectSql(model, {
      fields: ['id', 'source_name'],
      where: [
        { field: 'source_name', operator: 'equals', value: INJECTION },
        { field: 'raw_data.sku', operator: 'in', value: ['A', INJECTION] },
        { field: 'supplier_id', operator: 'equals', value: null },
      ],
      orderBy: [{ field: 'created_at', direction: 'desc' }],
      limit: 10,
      offset: 0,
    });
    assert.equal(q.text.includes('DROP'), false);
    assert.match(q.text, /^SELECT "id", "source_name" FROM "source_data" WHERE "source_name" = \$1::text AND/);
    assert.match(q.text, /"supplier_id" IS NULL ORDER BY "created_at" DESC LIMIT \$4::bigint OFFSET \$5::bigint$/);
    assert.deepEqual(q.values, [INJECTION, ['sku'], ['"A"', JSON.stringify(INJECTION)], 10, 0]);
  });

  it('reports a bad runtime value with the field it came from', () => {
    assert.throws(
      () => selectSql(model, { fields: [], where: [{ field: 'supplier_id', operator: 'gt', value: 'many' }], orderBy: [], limit: 1, offset: 0 }),
      (err: unknown) => err instanceof QueryConfigError && err.field === 'where[0].value',
    );
    assert.throws(() => selectSql(model, { fields: [], where: [{ field: 'supplier_id', operator: 'like', value: 'x' }], orderBy: [], limit: 1, offset: 0 }), QueryConfigError);
  });

  it('upserts with one array parameter per column, rewriting only changed rows', () => {
    const plan = writePlan(model, ['source_type', 'raw_data', 'status']);
    assert.deepEqual(plan.columns, ['source_type', 'raw_data', 'status', 'content_hash', 'external_id', 'execution_id', 'step_key']);
    assert.deepEqual(plan.keyIndexes, [0, 4]);
    const text = writeSql(model, plan.columns, 'upsert', ['id']);
    assert.match(text, /SELECT \* FROM unnest\(\$1::text\[\], \$2::jsonb\[\], \$3::text\[\], \$4::text\[\], \$5::text\[\], \$6::text\[\], \$7::text\[\]\)/);
    assert.match(text, /ON CONFLICT \("source_type", "supplier_id", "marketplace_id", "external_id"\) DO UPDATE SET/);
    assert.match(text, /"updated_at" = now\(\) WHERE \(t\."status", t\."content_hash"\) IS DISTINCT FROM \(EXCLUDED\."status", EXCLUDED\."content_hash"\)/);
    assert.match(text, /RETURNING \(t\.xmax = 0\) AS "__inserted", t\."id"$/);
    assert.match(writeSql(model, plan.columns, 'insert'), /DO NOTHING RETURNING true AS "__inserted"$/);
  });

  it('builds update and delete with bound values; update locks its rows in id order first (no deadlock between overlapping runs)', () => {
    const u = updateSql(model, { status: 'done' }, [{ field: 'id', operator: 'in', value: ['1', '2'] }], ['id']);
    assert.equal(
      u.text,
      'UPDATE "source_data" AS t SET "status" = $1::text, "updated_at" = now() ' +
        'FROM (SELECT "id" FROM "source_data" WHERE "id" = ANY($2::bigint[]) ORDER BY "id" FOR UPDATE) AS locked WHERE t."id" = locked."id" RETURNING t."id"',
    );
    assert.deepEqual(u.values, ['done', ['1', '2']]);
    const d = deleteSql(model, [{ field: 'status', operator: 'equals', value: 'old' }], ['id']);
    assert.equal(d.text, 'DELETE FROM "source_data" WHERE "status" = $1::text RETURNING "id"');
  });
});

describe(coerceValue.name, () => {
  it('checks types, ranges and lengths', () => {
    assert.deepEqual(coerceValue('integer', '42'), { ok: true, value: 42 });
    assert.equal(coerceValue('integer', 2 ** 31).ok, false);
    assert.equal(coerceValue('integer', 1.5).ok, false);
    assert.deepEqual(coerceValue('bigint', '9223372036854775807'), { ok: true, value: '9223372036854775807' });
    assert.equal(coerceValue('bigint', '9223372036854775808').ok, false);
    assert.equal(coerceValue('varchar(3)', 'abcd').ok, false);
    assert.deepEqual(coerceValue('varchar(3)', 'añb'), { ok: true, value: 'añb' });
    assert.equal(coerceValue('varchar(3)', 'abcd', false).ok, true);
    assert.equal(coerceValue('text', { a: 1 }).ok, false);
    assert.equal(coerceValue('text', 'a\u0000b').ok, false);
    assert.equal(coerceValue('jsonb', { a: 'x\u0000' }).ok, false);
    assert.deepEqual(coerceValue('timestamptz', '2024-01-02T03:04:05Z'), { ok: true, value: '2024-01-02T03:04:05.000Z' });
    assert.deepEqual(coerceValue('boolean', 'true'), { ok: true, value: true });
    assert.deepEqual(coerceValue('numeric', '12.50'), { ok: true, value: '12.50' });
    assert.deepEqual(coerceValue('text', undefined), { ok: true, value: null });
  });
});

describe(canonicalJson.name, () => {
  it('sorts keys at every level so equal records hash equally', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"e":1,"f":2}]},"b":1}');
    assert.equal(contentHash({ x: 1, y: 2 }), contentHash({ y: 2, x: 1 }));
    assert.notEqual(contentHash({ x: 1 }), contentHash({ x: 2 }));
    assert.throws(() => {
      const a: Record<string, unknown> = {};
      a.self = a;
      canonicalJson(a);
    }, /cyclic/);
  });
});

describe(itemsOf.name, () => {
  it('takes a list, a list under items_field, or one object as one record', () => {
    assert.deepEqual(itemsOf([1, 2], undefined), [1, 2]);
    assert.deepEqual(itemsOf({ products: [{ a: 1 }] }, 'products'), [{ a: 1 }]);
    assert.deepEqual(itemsOf({ a: 1 }, undefined), [{ a: 1 }]);
    assert.deepEqual(itemsOf(null, undefined), []);
    assert.throws(() => itemsOf({ a: 1 }, 'products'), /the step input at "products" is nothing \(undefined\); expected a list of records/);
  });
});

describe(assertModels.name, () => {
  it('refuses identifiers that could not be spliced safely', () => {
    assert.throws(() => assertModels({ Bad: { table: 'x; drop', columns: {} } }), /not a plain identifier/);
    assert.throws(() => assertModels({ Bad: { table: 't', columns: { 'a"b': 'text' } } }), /not a plain identifier/);
    assert.throws(() => assertModels({ Bad: { table: 't', columns: { a: 'text' }, conflictKeys: ['b'] } }), /not in columns/);
    assert.doesNotThrow(() => assertModels(DATABASE_MODELS));
  });
});
