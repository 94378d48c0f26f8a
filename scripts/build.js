#!/usr/bin/env node
// Compiles the TypeScript tree to dist/ with swc (fast, keeps decorator metadata,
// rewrites path aliases), copies static assets, then bundles the workflow code once
// so the worker and the tests load a prebuilt bundle instead of running webpack each time.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dirs = ['src', 'temporal', 'test', 'bench', 'scripts', 'migrations'].filter((d) => fs.existsSync(path.join(root, d)));
const swc = path.join(root, 'node_modules', '.bin', 'swc');
if (!fs.existsSync(swc)) {
  console.error('build: node_modules is missing; run `npm ci` first.');
  process.exit(1);
}
// BUILD_OUT lets parallel work trees of one checkout build side by side (dist is the default).
const out = process.env.BUILD_OUT || 'dist';
const started = Date.now();
const res = spawnSync(swc, [...dirs, '-d', out, '--extensions', '.ts', '--quiet'], {
  cwd: root,
  stdio: 'inherit',
});
if (res.status !== 0) process.exit(res.status ?? 1);
// Static assets served as they are (the admin UI).
for (const dir of ['src/admin/public']) {
  const from = path.join(root, dir);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(root, out, dir), { recursive: true });
}
// The admin UI's graph layout library, served from the app (no CDN).
const vendor = path.join(root, out, 'src/admin/public/vendor');
fs.mkdirSync(vendor, { recursive: true });
const dagrePackage = path.dirname(require.resolve('@dagrejs/dagre/package.json', { paths: [root] }));
fs.copyFileSync(path.join(dagrePackage, 'dist/dagre.min.js'), path.join(vendor, 'dagre.min.js'));
// ...and its line diff for comparing definition versions (the `diff` package).
const diffPackage = path.dirname(require.resolve('diff/package.json', { paths: [root] }));
fs.copyFileSync(path.join(diffPackage, 'dist/diff.min.js'), path.join(vendor, 'diff.min.js'));
if (process.argv.includes("--no-bundle")) process.exit(0);
const bundle = spawnSync(process.execPath, [path.join(root, out, 'scripts/bundle-workflows.js')], { cwd: root, stdio: 'inherit' });
if (bundle.status !== 0) process.exit(bundle.status ?? 1);
if (process.env.MERCHFLOW_BUILD_QUIET !== '1') console.log(`build: compiled ${dirs.join(', ')} in ${Date.now() - started} ms`);
