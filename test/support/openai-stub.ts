/**
 * An OpenAI-compatible test peer on 127.0.0.1: `POST /v1/chat/completions`
 * answering structured-output requests with JSON built from the requested
 * JSON schema, one result per item of the user message. Tests script faults
 * (invalid JSON, schema violations, missing items, HTTP errors with
 * Retry-After) and low confidence per item, and inspect what was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer, consumed by the next request (FIFO). */
export type StubAction =
  | { kind: 'ok' }
  /** Content that is not JSON. */
  | { kind: 'invalid_json' }
  /** Valid JSON whose results break the schema (confidence as a string). */
  | { kind: 'schema_violation' }
  /** Leaves out the last item's result. */
  | { kind: 'drop_last' }
  /** An HTTP error, e.g. 429 with Retry-After or 500. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number };

export interface StubRequest {
  headers: http.IncomingHttpHeaders;
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: JsonSchema } };
    temperature?: number;
  };
  /** The items of the user message (`{"items": [{"index", "data"}]}`). */
  items: Array<{ index: number; data: Record<string, unknown> }>;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
};

export interface OpenAIStubOptions {
  /** The bearer token requests must carry; anything else gets 401. */
  apiKey: string;
  /** Confidence for an item's result; default 0.95. */
  confidence?: (data: Record<string, unknown>) => number;
  /** Delay before answering, to make concurrency observable. */
  delayMs?: number;
}

export interface OpenAIStub {
  /** `http://127.0.0.1:<port>/v1`: the client's baseURL. */
  baseUrl: string;
  /** `127.0.0.1:<port>` */
  hostPort: string;
  requests: StubRequest[];
  /** Scripted answers for the next requests; when empty, requests succeed. */
  script: StubAction[];
  /** Most requests that were in flight at once. */
  maxInFlight: number;
  options: OpenAIStubOptions;
  close(): Promise<void>;
}

/** A value for `schema`, derived from the item so results are recognisable. */
function generate(schema: JsonSchema, name: string, item: { index: number; data: Record<string, unknown> }, stub: OpenAIStub): unknown {
  if (schema.anyOf) return generate(schema.anyOf.find((s) => s.type !== 'null') ?? schema.anyOf[0], name, item, stub);
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type;
  if (name === 'index') return item.index;
  if (name === 'confidence') return (stub.options.confidence ?? (() => 0.95))(item.data);
  if (schema.enum) {
    // Prefer an enum value the item mentions (a category hint), else the first.
    const text = JSON.stringify(item.data).toLowerCase();
    return schema.enum.find((v) => typeof v === 'string' && text.includes(v.toLowerCase())) ?? schema.enum[0];
  }
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, generate(s, k, item, stub)]));
    case 'array':
      return schema.items ? [generate(schema.items, name.replace(/s$/, ''), item, stub)] : [];
    case 'string': {
      const own = item.data[name];
      const d = item.data;
      return typeof own === 'string' ? `${own} (ai)` : `${name} for ${String(d.title ?? d.name ?? d.order_id ?? d.id ?? item.index)}`;
    }
    case 'number':
    case 'integer':
      return schema.minimum ?? 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function completion(model: string, content: string) {
  return {
    id: `chatcmpl-stub-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
  };
}

export async function startOpenAIStub(options: OpenAIStubOptions): Promise<OpenAIStub> {
  let inFlight = 0;
  const stub: OpenAIStub = { baseUrl: '', hostPort: '', requests: [], script: [], maxInFlight: 0, options, close: async () => undefined };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        inFlight--;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      inFlight++;
      stub.maxInFlight = Math.max(stub.maxInFlight, inFlight);
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return send(404, { error: { message: 'not found', type: 'invalid_request_error' } });
      let body: StubRequest['body'];
      let items: StubRequest['items'] = [];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const user = body.messages.find((m) => m.role === 'user');
        items = (JSON.parse(user?.content ?? '{}') as { items?: StubRequest['items'] }).items ?? [];
      } catch {
        return send(400, { error: { message: 'could not parse the request', type: 'invalid_request_error' } });
      }
      stub.requests.push({ headers: req.headers, body, items });
      if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      const action = stub.script.shift() ?? { kind: 'ok' };
      setTimeout(() => {
        if (action.kind === 'status') {
          const headers: Record<string, string> = action.retryAfterSeconds !== undefined ? { 'retry-after': String(action.retryAfterSeconds) } : {};
          return send(action.status, { error: { message: `stub ${action.status}`, type: action.status === 429 ? 'rate_limit_exceeded' : 'server_error' } }, headers);
        }
        if (action.kind === 'invalid_json') return send(200, completion(body.model, '{"results": [{"index": 0, "descr'));
        const schema = body.response_format?.json_schema?.schema;
        if (body.response_format?.type !== 'json_schema' || !schema) {
          return send(400, { error: { message: 'this stub answers json_schema requests only', type: 'invalid_request_error' } });
        }
        const itemSchema = schema.properties?.results?.items ?? {};
        let results = items.map((item) => generate(itemSchema, '', item, stub) as Record<string, unknown>);
        if (action.kind === 'schema_violation') results = results.map((r) => ({ ...r, confidence: 'high' }));
        if (action.kind === 'drop_last') results = results.slice(0, -1);
        send(200, completion(body.model, JSON.stringify({ results })));
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  stub.baseUrl = `http://127.0.0.1:${port}/v1`;
  stub.hostPort = `127.0.0.1:${port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}
