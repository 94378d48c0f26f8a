/**
 * What a runaway JSONata expression costs the rest of a worker: while a
 * data_transform evaluates it (timeout_ms: 100), a trivial transform is
 * started every 20 ms on the same event loop, and its latency is recorded,
 * with the longest stall of a 5 ms timer.
 *
 *   npm run bench -- expression-runaway
 *
 * Uses only transformData, so it runs against an older build too (compile it
 * into that build's directory) for a before/after comparison.
 */
import { transformData } from '@engine/activities/data_transform';

const RUNAWAYS: Array<[string, string]> = [
  ['$pad to 100,000,000 characters', '$length($pad("", 100000000, "x"))'],
  ['regex backtracking in one $contains call', '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)'],
];

const TRIVIAL = { transform_type: 'map', mapping_rules: { b: 'a' } };

async function measure(label: string, expression: string): Promise<void> {
  const latencies: number[] = [];
  let stall = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last - 5);
    last = now;
  }, 5);
  let done = false;
  const trivial = (async () => {
    while (!done) {
      const asked = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await transformData([{ a: 1 }], TRIVIAL);
      latencies.push(performance.now() - asked - 20);
    }
  })();
  const started = performance.now();
  let outcome: string;
  try {
    await transformData({}, { transform_type: 'jsonata', expression, timeout_ms: 100 });
    outcome = 'completed';
  } catch (err) {
    outcome = `failed ${(err as { type?: string; code?: string }).type ?? (err as { code?: string }).code ?? (err as Error).message}`;
  }
  const took = performance.now() - started;
  done = true;
  await trivial;
  clearInterval(ticker);
  const worst = Math.max(...latencies);
  console.log(
    `${label.padEnd(42)} ${outcome.padEnd(24)} after ${took.toFixed(0).padStart(6)} ms;` +
      ` trivial transform worst latency ${worst.toFixed(1).padStart(8)} ms (${latencies.length} runs); event loop stall ${stall.toFixed(0).padStart(6)} ms`,
  );
}

async function main(): Promise<void> {
  console.log(`runaway expressions with timeout_ms 100 (Node ${process.version})\n`);
  // Warm up (thread start, compile caches).
  await transformData([{ a: 1 }], TRIVIAL);
  await transformData({}, { transform_type: 'jsonata', expression: '1' });
  for (const [label, expression] of RUNAWAYS) await measure(label, expression);
  // The pool's threads are idle and unreferenced; nothing keeps the process alive.
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
