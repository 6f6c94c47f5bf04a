// Build the committed chart bundle for the xieshang web UI.
//
//   node charts.mjs [OUTDIR]     (default: ../static/charts)
//
// Output (deterministic: same lockfile + same sources => byte-identical files):
//   charts.js      minified IIFE, defines window.XieshangCharts (chart.js, only the bar chart parts)
//   LICENSES.txt   licenses of every package in the bundle
//
// No timestamps, absolute paths or download addresses are written anywhere.

import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, process.argv[2] || path.join('..', 'static', 'charts'));
const nodeModules = path.join(here, 'node_modules');

function pkgInfo(name) {
  const dir = path.join(nodeModules, ...name.split('/'));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return { name, dir, version: pkg.version, license: pkg.license || '(see file)' };
}

function packageOf(input) {
  const parts = input.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return null;
  return parts[i + 1].startsWith('@') ? parts[i + 1] + '/' + parts[i + 2] : parts[i + 1];
}

if (outdir === path.parse(outdir).root || outdir === here) {
  throw new Error('refusing to use ' + outdir + ' as output directory');
}
fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });

const chartJs = pkgInfo('chart.js');
const result = await build({
  absWorkingDir: here,
  entryPoints: ['src/charts.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  charset: 'ascii',
  legalComments: 'none',
  banner: { js: `/*! xieshang charts. Bundles chart.js ${chartJs.version} (MIT); licenses in LICENSES.txt. */` },
  metafile: true,
  write: false,
  outdir: 'out',
  logLevel: 'warning'
});
for (const file of result.outputFiles) {
  if (path.basename(file.path) !== 'charts.js') throw new Error('unexpected esbuild output ' + file.path);
  fs.writeFileSync(path.join(outdir, 'charts.js'), file.contents);
}

const bundled = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const name = packageOf(input);
  if (name) bundled.add(name);
}
const names = [...bundled].sort();
const rule = '='.repeat(78);
let text = 'Third-party licenses for webui/static/charts/\n\n' +
  'charts.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json).\n\n' +
  'Packages: ' + names.map((n) => n + '@' + pkgInfo(n).version).join(', ') + '\n';
for (const name of names) {
  const info = pkgInfo(name);
  const files = fs.readdirSync(info.dir).filter((f) => /^(licen[cs]e|copying|notice)(\.|$|-)/i.test(f)).sort();
  if (!files.length) throw new Error(`no license file found for ${name}`);
  text += '\n' + rule + '\n' + `${name}@${info.version}  (license: ${info.license})\n` + rule + '\n';
  for (const f of files) {
    const body = fs.readFileSync(path.join(info.dir, f), 'utf8').replace(/\r\n/g, '\n');
    text += body.endsWith('\n') ? body : body + '\n';
  }
}
fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), text);

const rel = path.relative(process.cwd(), outdir) || '.';
for (const f of ['charts.js', 'LICENSES.txt']) {
  console.log(`${rel}/${f}  ${fs.statSync(path.join(outdir, f)).size} bytes`);
}
