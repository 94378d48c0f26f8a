import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { unavailableDependency } from '@engine/shared/infra-faults';
import { OutageRider, databasePort } from '@engine/activities/runtime/outage';
import { StepError } from '@engine/activities/shared/errors';
import { toErrorBody } from '@src/common/http/error.filter';
import { Logger } from '@src/logging/logger';

/** A real "connection refused" from a loopback port nobody listens on. */
async function refusedError(): Promise<Error & { port?: number }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('error', (err) => resolve(err as Error & { port?: number }));
  });
}

const logger = new Logger({ level: 'error', format: 'json', sink: () => undefined });

function rider(budgetMs: number, databasePorts?: number[]) {
  const beats: unknown[] = [];
  const sut = new OutageRider({ budgetMs, heartbeat: (d) => beats.push(d), signal: new AbortController().signal, logger, initialDelayMs: 1, maxDelayMs: 2, databasePorts });
  return { sut, beats };
}

describe(unavailableDependency.name, () => {
  it('names the database for refused connections, pg shutdown codes and node-postgres connection loss', async () => {
    assert.equal(unavailableDependency(await refusedError()), 'database');
    assert.equal(unavailableDependency(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), 'database');
    assert.equal(unavailableDependency(Object.assign(new Error('the database system is starting up'), { code: '57P03' })), 'database');
    assert.equal(unavailableDependency(Object.assign(new Error('x'), { code: '08006' })), 'database');
    assert.equal(unavailableDependency(new Error('Connection terminated unexpectedly')), 'database');
    assert.equal(unavailableDependency(new Error('timeout exceeded when trying to connect')), 'database');
    // TypeORM's QueryFailedError keeps the driver's error.
    assert.equal(unavailableDependency(Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: { code: '57P01' } })), 'database');
    // database_query turns pg errors into StepErrors carrying the SQLSTATE.
    assert.equal(unavailableDependency(new StepError('DB_ERROR', 'database: gone', { retryable: true, details: { sqlstate: '57P01' } })), 'database');
  });

  it('names Temporal for gRPC UNAVAILABLE', () => {
    assert.equal(unavailableDependency(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { name: 'ServiceError', code: 14 })), 'temporal');
  });

  it('leaves business, query and outside-peer errors alone', () => {
    assert.equal(unavailableDependency(Object.assign(new Error('duplicate key'), { code: '23505' })), null);
    assert.equal(unavailableDependency(new StepError('DB_QUERY_REJECTED', 'syntax', { details: { sqlstate: '42601' } })), null);
    assert.equal(unavailableDependency(new StepError('HTTP_CONNECTION_ERROR', 'connect ECONNREFUSED 127.0.0.1:4010', { retryable: true, cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })), null);
    assert.equal(unavailableDependency(ApplicationFailure.create({ type: 'VALIDATION_FAILED', message: 'bad' })), null);
    assert.equal(unavailableDependency(new Error('boom')), null);
    assert.equal(unavailableDependency(null), null);
  });
});

describe(OutageRider.name, () => {
  it('waits out an outage inside the attempt and returns what the call returns once the dependency is back', async () => {
    const { sut, beats } = rider(60_000);
    const refused = await refusedError();
    let calls = 0;
    const out = await sut.ride('test', async () => {
      calls++;
      if (calls <= 3) throw refused;
      return 'ok';
    });
    assert.equal(out, 'ok');
    assert.equal(calls, 4);
    assert.equal(sut.faults.database, 3);
    assert.equal(beats.length, 3, 'heartbeats while it waits');
  });

  it('throws other errors at once, without retrying', async () => {
    const { sut } = rider(60_000);
    let calls = 0;
    await assert.rejects(
      sut.ride('test', async () => {
        calls++;
        throw new StepError('VALIDATION_FAILED', 'bad record');
      }),
      (err: StepError) => err.code === 'VALIDATION_FAILED',
    );
    assert.equal(calls, 1);
  });

  it('gives up with a retryable DEPENDENCY_UNAVAILABLE once the outage outlasts the budget', async () => {
    const { sut } = rider(20);
    const refused = await refusedError();
    await assert.rejects(
      sut.ride('test', async () => {
        throw refused;
      }),
      (err: StepError) => err.code === 'DEPENDENCY_UNAVAILABLE' && err.retryable && (err.info as { dependency: string }).dependency === 'database',
    );
  });

  it('treats a refused connection to another port than the database as the step\'s own failure', async () => {
    const refused = await refusedError();
    const { sut } = rider(60_000, [refused.port! === 1 ? 2 : 1]);
    let calls = 0;
    await assert.rejects(sut.ride('test', async () => {
      calls++;
      throw refused;
    }));
    assert.equal(calls, 1);
  });

  it('reads the database port from its URL', () => {
    assert.equal(databasePort('postgres://u:p@127.0.0.1:5488/db'), 5488);
    assert.equal(databasePort('postgres://u:p@db/x'), 5432);
  });
});

describe('API error mapping of outages', () => {
  it('answers 503 DEPENDENCY_UNAVAILABLE naming the dependency', async () => {
    const db = toErrorBody(await refusedError());
    assert.deepEqual([db.status, db.body.code, db.body.details], [503, 'DEPENDENCY_UNAVAILABLE', { dependency: 'database' }]);
    assert.equal(db.unexpected, false);
    const t = toErrorBody(Object.assign(new Error('14 UNAVAILABLE: tcp connect error'), { name: 'ServiceError', code: 14 }));
    assert.deepEqual([t.status, t.body.code, t.body.details], [503, 'DEPENDENCY_UNAVAILABLE', { dependency: 'temporal' }]);
    assert.equal(toErrorBody(new Error('boom')).status, 500);
  });
});
