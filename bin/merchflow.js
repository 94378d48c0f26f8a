#!/usr/bin/env node
'use strict';
// The `merchflow` CLI. Runs the compiled CLI; build first with `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  console.error('merchflow: not built yet; run `npm run build` in ' + path.resolve(__dirname, '..'));
  process.exit(2);
}
require(main).main(process.argv.slice(2));
