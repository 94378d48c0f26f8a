import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as Record<string, any>;

/** nest-cli.json describes the build that scripts/build.js runs (swc, .swcrc, dist/, the API entry, the admin assets). */
describe('nest-cli.json', () => {
  it('names the swc builder, the .swcrc and the output directory scripts/build.js uses', () => {
    const sut = read('nest-cli.json');
    const builder = sut.compilerOptions.builder;
    assert.equal(builder.type, 'swc');
    assert.equal(builder.options.outDir, 'dist');
    assert.ok(fs.existsSync(path.join(root, builder.options.swcrcPath)), `${builder.options.swcrcPath} exists`);
    const build = fs.readFileSync(path.join(root, 'scripts', 'build.js'), 'utf8');
    assert.match(build, /\.bin', 'swc'\)/, 'scripts/build.js runs swc');
    assert.match(build, /process\.env\.BUILD_OUT \|\| 'dist'/);
    assert.match(build, /'src\/admin\/public'/, 'the admin assets nest-cli.json copies are the ones the build copies');
    assert.equal(sut.compilerOptions.assets[0].include, 'admin/public/**/*');
  });

  it('points at the API entry the build produces', () => {
    const sut = read('nest-cli.json');
    assert.ok(fs.existsSync(path.join(root, sut.sourceRoot, 'main.ts')));
    assert.ok(fs.existsSync(path.join(root, 'dist', `${sut.entryFile}.js`)), `dist/${sut.entryFile}.js is built`);
    assert.equal(read('package.json').scripts.api, `node dist/${sut.entryFile}.js`);
  });
});
