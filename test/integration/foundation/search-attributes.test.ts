import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '@engine/setup/search-attributes';
import { SEARCH_ATTRIBUTE_TYPES } from '@engine/shared/contracts';
import { eventually } from '@test/support/harness';

describe(ensureSearchAttributes.name, () => {
  it('registers the missing attributes on a namespace once, then does nothing', async () => {
    const address = process.env.TEMPORAL_ADDRESS!;
    const namespace = `sa-${randomUUID().slice(0, 8)}`;
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: 86400 as never } });
      // A new namespace takes a moment to be visible to the operator service.
      const added = await eventually(async () => {
        try {
          return await ensureSearchAttributes(address, namespace);
        } catch {
          return null;
        }
      }, 30_000, 'namespace to be ready');
      assert.deepEqual(added.sort(), Object.keys(SEARCH_ATTRIBUTE_TYPES).sort());
      assert.deepEqual(await ensureSearchAttributes(address, namespace), []);
      const listed = await connection.operatorService.listSearchAttributes({ namespace });
      for (const name of Object.keys(SEARCH_ATTRIBUTE_TYPES)) assert.ok(name in (listed.customAttributes ?? {}), name);
    } finally {
      await connection.close();
    }
  });
});
