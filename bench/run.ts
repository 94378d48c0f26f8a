/**
 * `npm run bench -- NAME [args...]` runs bench/NAME.ts (compiled); with no
 * name it lists the benchmarks. Benchmarks are never part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = __dirname;
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => path.basename(f, '.js'))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name) {
  console.log(`benchmarks: ${available.join(', ')}\nusage: npm run bench -- NAME [args...]`);
  process.exit(0);
}
if (!available.includes(name)) {
  console.error(`bench: no benchmark "${name}" (have: ${available.join(', ')})`);
  process.exit(2);
}
const res = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', path.join(dir, `${name}.js`), ...args], { stdio: 'inherit' });
process.exit(res.status ?? 1);
