import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { entityColumns } from '@src/commerce/entity-columns';
import { Inventory, Supplier } from '@src/commerce/entities';
import { DATABASE_MODELS } from '@engine/activities/database_query/models';

describe(entityColumns.name, () => {
  it('reads the table and every column with its SQL type, inherited ones first', () => {
    const sut = entityColumns(Supplier);
    assert.equal(sut.table, 'suppliers');
    assert.deepEqual(Object.entries(sut.columns).slice(0, 3), [
      ['id', 'integer'],
      ['code', 'varchar(50)'],
      ['name', 'varchar(200)'],
    ]);
    assert.equal(sut.columns.last_import_errors, 'jsonb');
    assert.equal(sut.columns.updated_at, 'timestamptz');
  });

  it('is where the database_query allow-list takes its tables and columns from', () => {
    assert.deepEqual({ table: DATABASE_MODELS.Inventory.table, columns: DATABASE_MODELS.Inventory.columns }, entityColumns(Inventory));
    // A column added to an entity reaches the allow-list; a policy still has to make it writable.
    for (const [name, model] of Object.entries(DATABASE_MODELS)) {
      for (const col of model.readOnly ?? []) assert.ok(col in model.columns, `${name}.${col} is a column of its entity`);
    }
  });

  it('refuses a column type database_query cannot bind, naming the property', () => {
    @Entity('mf_unit_odd')
    class Odd {
      @PrimaryGeneratedColumn({ type: 'bigint' })
      id: string;
      @Column({ type: 'point' })
      where: string;
    }
    assert.throws(() => entityColumns(Odd), /Odd\.where: column type point is not one database_query can bind/);
  });
});
