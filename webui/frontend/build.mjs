// Build the committed front-end assets for the xieshang web UI.
//
//   node build.mjs [OUTDIR]     (default: ../static/bpmn)
//
// Output (deterministic: same lockfile + same sources => byte-identical files):
//   viewer.js                  minified IIFE, defines window.XieshangDiagram
//   viewer.css                 xieshang marker styles (src/viewer.css, copied)
//   diagram-js.css, bpmn-js.css, bpmn-font/{css,font}/...   copied from bpmn-js/dist/assets
//   LICENSES.txt               licenses of every package in the bundle + legal comments
//
// No timestamps, absolute paths or download addresses are written anywhere.

import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, process.argv[2] || path.join('..', 'static', 'bpmn'));
const nodeModules = path.join(here, 'node_modules');
const bpmnAssets = path.join(nodeModules, 'bpmn-js', 'dist', 'assets');

function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function pkgInfo(name) {
  const dir = path.join(nodeModules, ...name.split('/'));
  const pkg = readJSON(path.join(dir, 'package.json'));
  return { name, dir, version: pkg.version, license: pkg.license || '(see file)' };
}

// Package name for a node_modules path like node_modules/@scope/name/lib/x.js
function packageOf(input) {
  const parts = input.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return null;
  return parts[i + 1].startsWith('@') ? parts[i + 1] + '/' + parts[i + 2] : parts[i + 1];
}

function licenseFiles(dir) {
  return fs.readdirSync(dir)
    .filter((f) => /^(licen[cs]e|copying|notice)(\.|$|-)/i.test(f))
    .sort();
}

function copy(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
}

// Never let a stray argument wipe something that is not a bundle directory.
if (outdir === path.parse(outdir).root || outdir === here) {
  throw new Error('refusing to use ' + outdir + ' as output directory');
}
fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });

const bpmnJs = pkgInfo('bpmn-js');

const result = await build({
  absWorkingDir: here,
  entryPoints: ['src/viewer.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  charset: 'ascii',
  legalComments: 'external',
  banner: {
    js: `/*! xieshang BPMN viewer. Bundles bpmn-js ${bpmnJs.version} (c) Camunda Services GmbH and ` +
      'other packages; licenses in LICENSES.txt. The bpmn.io watermark must stay visible. */'
  },
  metafile: true,
  write: false,
  outdir: 'out',
  logLevel: 'warning'
});

let legal = '';
for (const file of result.outputFiles) {
  const base = path.basename(file.path);
  if (base === 'viewer.js') {
    fs.writeFileSync(path.join(outdir, 'viewer.js'), file.contents);
  } else if (base === 'viewer.js.LEGAL.txt') {
    legal = file.text;
  } else {
    throw new Error('unexpected esbuild output ' + base);
  }
}

// Styles and fonts.
copy(path.join(here, 'src', 'viewer.css'), path.join(outdir, 'viewer.css'));
copy(path.join(bpmnAssets, 'diagram-js.css'), path.join(outdir, 'diagram-js.css'));
copy(path.join(bpmnAssets, 'bpmn-js.css'), path.join(outdir, 'bpmn-js.css'));
copy(path.join(bpmnAssets, 'bpmn-font', 'css', 'bpmn.css'), path.join(outdir, 'bpmn-font', 'css', 'bpmn.css'));
for (const f of fs.readdirSync(path.join(bpmnAssets, 'bpmn-font', 'font')).sort()) {
  copy(path.join(bpmnAssets, 'bpmn-font', 'font', f), path.join(outdir, 'bpmn-font', 'font', f));
}

// LICENSES.txt: bpmn-js first (verbatim), then every other bundled package, sorted.
const bundled = new Set(['bpmn-js', 'diagram-js']); // diagram-js.css ships even if tree-shaken
for (const input of Object.keys(result.metafile.inputs)) {
  const name = packageOf(input);
  if (name) bundled.add(name);
}
const names = ['bpmn-js', ...[...bundled].filter((n) => n !== 'bpmn-js').sort()];

const rule = '='.repeat(78);
let text = 'Third-party licenses for webui/static/bpmn/\n\n' +
  'viewer.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json). diagram-js.css, bpmn-js.css and bpmn-font/\n' +
  'are copied unchanged from bpmn-js/dist/assets.\n\n' +
  'Packages: ' + names.map((n) => n + '@' + pkgInfo(n).version).join(', ') + '\n';

for (const name of names) {
  const info = pkgInfo(name);
  const files = licenseFiles(info.dir);
  text += '\n' + rule + '\n' + `${name}@${info.version}  (license: ${info.license})\n` + rule + '\n';
  if (!files.length) {
    throw new Error(`no license file found for ${name}; add it to LICENSES.txt by hand`);
  }
  for (const f of files) {
    if (files.length > 1) text += `--- ${f} ---\n`;
    const body = fs.readFileSync(path.join(info.dir, f), 'utf8').replace(/\r\n/g, '\n');
    text += body.endsWith('\n') ? body : body + '\n';
  }
}

if (legal.trim()) {
  text += '\n' + rule + '\nLegal comments extracted from viewer.js by esbuild\n' + rule + '\n' + legal;
}

fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), text);

const rel = path.relative(process.cwd(), outdir) || '.';
for (const f of ['viewer.js', 'viewer.css', 'LICENSES.txt']) {
  console.log(`${rel}/${f}  ${fs.statSync(path.join(outdir, f)).size} bytes`);
}
