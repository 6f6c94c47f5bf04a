// Build the committed process-studio bundle (the BPMN modeler) for the xieshang web UI.
//
//   node studio.mjs [OUTDIR]     (default: ../static/studio)
//
// Output (deterministic: same lockfile + same sources => byte-identical files):
//   studio.js                  minified IIFE, starts the modeler on a page with #studio (src/studio.js)
//   studio.css                 the studio's layout and problem markers (src/studio.css, copied)
//   properties-panel.css       copied from @bpmn-io/properties-panel/dist/assets
//   bpmn-js-bpmnlint.css       copied from bpmn-js-bpmnlint/dist/assets/css (the live lint's overlays, toggle)
//   LICENSES.txt               licenses of every package in the bundle + legal comments
//
// The diagram styles and fonts (diagram-js.css, bpmn-js.css, bpmn-font/) are the viewer's, under ../static/bpmn/,
// built from the same bpmn-js by build.mjs. No timestamps, absolute paths or download addresses are written.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE, bundle, bundledPackages, licensesText, outputDir, pkgInfo, report } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = outputDir(here, 'studio');

const bpmnJs = pkgInfo(here, 'bpmn-js');
const panel = pkgInfo(here, 'bpmn-js-properties-panel');
const result = await bundle(here, 'src/studio.js',
  `/*! xieshang process studio. Bundles bpmn-js ${bpmnJs.version} and bpmn-js-properties-panel ${panel.version} ` +
  '(c) Camunda Services GmbH and other packages; licenses in LICENSES.txt. The bpmn.io watermark must stay ' +
  'visible. */', 'external');

let legal = '';
for (const file of result.outputFiles) {
  const base = path.basename(file.path);
  if (base === 'studio.js') {
    fs.writeFileSync(path.join(outdir, 'studio.js'), file.contents);
  } else if (base === 'studio.js.LEGAL.txt') {
    legal = file.text;
  } else {
    throw new Error('unexpected esbuild output ' + base);
  }
}

fs.copyFileSync(path.join(here, 'src', 'studio.css'), path.join(outdir, 'studio.css'));
fs.copyFileSync(path.join(here, 'node_modules', 'bpmn-js-bpmnlint', 'dist', 'assets', 'css', 'bpmn-js-bpmnlint.css'),
  path.join(outdir, 'bpmn-js-bpmnlint.css'));
fs.copyFileSync(path.join(here, 'node_modules', '@bpmn-io', 'properties-panel', 'dist', 'assets', 'properties-panel.css'),
  path.join(outdir, 'properties-panel.css'));

const bundled = bundledPackages(result, ['bpmn-js', 'bpmn-js-properties-panel', '@bpmn-io/properties-panel']);
const first = ['bpmn-js', 'bpmn-js-properties-panel', '@bpmn-io/properties-panel'];
const names = [...first, ...[...bundled].filter((n) => !first.includes(n)).sort()];
// @bpmn-io/semver-compat ships no license file; its package.json says MIT, by "bpmn.io contributors".
const MIT = (holder) => `(no license file in the package; its package.json states "license": "MIT")

MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;
let text = licensesText(here,
  'Third-party licenses for webui/static/studio/\n\n' +
  'studio.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json). properties-panel.css is copied unchanged\n' +
  'from @bpmn-io/properties-panel/dist/assets, bpmn-js-bpmnlint.css from\n' +
  'bpmn-js-bpmnlint/dist/assets/css.\n\n', names,
{ '@bpmn-io/semver-compat': MIT('bpmn.io contributors') });
if (legal.trim()) {
  text += '\n' + RULE + '\nLegal comments extracted from studio.js by esbuild\n' + RULE + '\n' + legal;
}
fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), text);

report(outdir, ['studio.js', 'studio.css', 'properties-panel.css', 'bpmn-js-bpmnlint.css', 'LICENSES.txt']);
