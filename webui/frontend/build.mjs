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

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE, bundle, bundledPackages, licensesText, outputDir, pkgInfo, report } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = outputDir(here, 'bpmn');
const bpmnAssets = path.join(here, 'node_modules', 'bpmn-js', 'dist', 'assets');

function copy(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
}

const bpmnJs = pkgInfo(here, 'bpmn-js');
const result = await bundle(here, 'src/viewer.js',
  `/*! xieshang BPMN viewer. Bundles bpmn-js ${bpmnJs.version} (c) Camunda Services GmbH and ` +
  'other packages; licenses in LICENSES.txt. The bpmn.io watermark must stay visible. */', 'external');

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
const bundled = bundledPackages(result, ['bpmn-js', 'diagram-js']); // diagram-js.css ships even if tree-shaken
const names = ['bpmn-js', ...[...bundled].filter((n) => n !== 'bpmn-js').sort()];
let text = licensesText(here,
  'Third-party licenses for webui/static/bpmn/\n\n' +
  'viewer.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json). diagram-js.css, bpmn-js.css and bpmn-font/\n' +
  'are copied unchanged from bpmn-js/dist/assets.\n\n', names);

if (legal.trim()) {
  text += '\n' + RULE + '\nLegal comments extracted from viewer.js by esbuild\n' + RULE + '\n' + legal;
}

fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), text);

report(outdir, ['viewer.js', 'viewer.css', 'LICENSES.txt']);
