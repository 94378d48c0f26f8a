import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { AggregateConfigError, loadConfig } from '@src/config/config';
import { startTracing, urlWithoutQuery } from '@src/tracing/tracing';

const dist = path.resolve(__dirname, '..', '..', '..');

describe('tracing configuration', () => {
  it('is off by default and loads none of OpenTelemetry then', async () => {
    const c = loadConfig({});
    assert.equal(c.tracing.enabled, false);
    assert.deepEqual(c.tracing.exporters, []);
    assert.equal(await startTracing(c, { defaultServiceName: 'x' }), null);
    // A fresh process: the API and the worker modules, tracing off, never require the SDK.
    const script = `
      require(${JSON.stringify(path.join(dist, 'src/main.js'))});
      require(${JSON.stringify(path.join(dist, 'temporal/worker.js'))});
      const loaded = Object.keys(require.cache).filter((f) => /@opentelemetry[\\\\/](sdk-|instrumentation|exporter-|resources)|interceptors-opentelemetry/.test(f));
      console.log(JSON.stringify(loaded));`;
    const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout.trim().split('\n').at(-1)!), []);
  });

  it('turns on with OTEL_TRACES_EXPORTER, or with an OTLP endpoint alone, and off with OTEL_SDK_DISABLED', () => {
    assert.deepEqual(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.exporters, ['otlp']);
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'console, otlp' }).tracing.enabled, true);
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled, false);
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.enabled, false, 'none wins over an endpoint');
    const byEndpoint = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing;
    assert.deepEqual(byEndpoint.exporters, ['otlp']);
    assert.equal(byEndpoint.otlpUrl, 'http://collector:4318/v1/traces');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example/otlp/traces' }).tracing.otlpUrl, 'https://c.example/otlp/traces');
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.otlpUrl, 'http://localhost:4318/v1/traces');
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).tracing.enabled, false);
  });

  it('reads the service name, resource attributes, headers and sampler as the specification writes them', () => {
    const t = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_SERVICE_NAME: 'shop-api',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=ops%20core',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-a=1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).tracing;
    assert.equal(t.serviceName, 'shop-api');
    assert.deepEqual(t.resourceAttributes, { 'deployment.environment': 'prod', team: 'ops core' });
    assert.deepEqual(t.otlpHeaders, { authorization: 'Bearer abc', 'x-a': '2' });
    assert.equal(t.sampler, 'parentbased_traceidratio');
    assert.equal(t.samplerRatio, 0.25);
  });

  it('names every bad OTEL_* variable, and never echoes a header value', () => {
    let err: unknown;
    try {
      loadConfig({
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'token-without-key-abc123',
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof AggregateConfigError);
    assert.deepEqual(err.errors.map((e) => e.variable).sort(), [
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      'OTEL_TRACES_EXPORTER',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
    assert.match(err.message, /OTEL_TRACES_EXPORTER: expected otlp, console or none/);
    assert.doesNotMatch(err.message, /token-without-key-abc123/);
  });
});

describe(urlWithoutQuery.name, () => {
  it('leaves the query string (which may hold credentials) out of a client span', () => {
    assert.deepEqual(urlWithoutQuery({ protocol: 'https:', hostname: 'api.example.com', port: 443, path: '/v1/items?api_key=s3cret&page=2' }), {
      'http.url': 'https://api.example.com/v1/items',
      'http.target': '/v1/items',
    });
    assert.equal(urlWithoutQuery({ protocol: 'http:', hostname: '127.0.0.1', port: 8080, path: '/x' })['http.url'], 'http://127.0.0.1:8080/x');
    assert.equal(urlWithoutQuery({ hostname: '::1', port: 81, path: '/' })['http.url'], 'http://[::1]:81/');
  });
});
