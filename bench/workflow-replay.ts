/**
 * The workflow side of a run alone: the CPU of replaying one recorded history
 * of the interpreter and one of the hand-written baseline workflow, each many
 * times, in this process (no server, no activities: the SDK core feeding
 * activations, the workflow code, the SDK's bookkeeping in the sandbox).
 * Interleaved rounds; prints CPU per replayed run of each and the ratio. CPU
 * time, not wall time, so it moves little with the machine's load.
 *
 *   npm run bench -- interpreter --runs 5 --latency-runs 1 --rounds 1 --history-out DIR
 *   npm run bench -- workflow-replay DIR [--replays 300] [--rounds 3]
 *
 * DIR holds `merchflow.history.pb` and `baseline.history.pb` (what the
 * interpreter bench writes with --history-out). The merchflow history is
 * replayed with this build's workflow bundle, the baseline's with
 * bench/support/interpreter-baseline-workflow.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { loadAverage } from './support/proc';
import { CompressionCodec } from '@engine/codec/compression-codec';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const dir = process.argv[2];
const REPLAYS = Number(arg('replays', '300'));
const ROUNDS = Number(arg('rounds', '3'));
const say = (line: string) => console.log(`workflow-replay | ${line}`);

type History = temporal.api.history.v1.History;

async function replay(options: ReplayWorkerOptions, history: History, n: number, tag: string): Promise<number> {
  async function* histories() {
    for (let i = 0; i < n; i++) yield { workflowId: `${tag}-${i}`, history };
  }
  const c0 = process.cpuUsage();
  for await (const r of Worker.runReplayHistories(options, histories())) if (r.error) throw r.error;
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

async function main(): Promise<void> {
  if (!dir) throw new Error('usage: workflow-replay DIR [--replays 300] [--rounds 3] (DIR: the interpreter bench\'s --history-out)');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const read = (name: string) => temporal.api.history.v1.History.decode(fs.readFileSync(path.join(dir, `${name}.history.pb`)));
  const sides = [
    // The interpreter's history may hold compressed payloads (TEMPORAL_PAYLOAD_COMPRESS_BYTES): the codec inflates them.
    {
      name: 'merchflow',
      history: read('merchflow'),
      options: { workflowBundle: { codePath: path.resolve(__dirname, '..', 'workflow-bundle.js') }, dataConverter: { payloadCodecs: [new CompressionCodec(0)] } },
    },
    { name: 'baseline', history: read('baseline'), options: { workflowsPath: require.resolve('./support/interpreter-baseline-workflow') } },
  ];
  // Warm-up: bundles loaded, the SDK's sandbox built.
  for (const s of sides) await replay(s.options, s.history, 20, `warm-${s.name}`);
  say(`${REPLAYS} replays a round, ${ROUNDS} rounds; ${loadAverage()}`);
  const cpu: Record<string, number[]> = { merchflow: [], baseline: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of sides) cpu[s.name].push(await replay(s.options, s.history, REPLAYS, `r${round}-${s.name}`));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [m, b] = [med(cpu.merchflow), med(cpu.baseline)];
  say(`CPU per replayed run (median of ${ROUNDS}): merchflow ${m.toFixed(1)} ms (${cpu.merchflow.map((x) => x.toFixed(1)).join(', ')}), baseline ${b.toFixed(1)} ms (${cpu.baseline.map((x) => x.toFixed(1)).join(', ')}), ratio ${(m / b).toFixed(2)}x`);
  say(`done; ${loadAverage()}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`workflow-replay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
