// Build the committed decision-table editor bundle for the xieshang web UI.
//
//   node dmn.mjs [OUTDIR]     (default: ../static/dmn)
//
// Output (deterministic: same lockfile + same sources => byte-identical files):
//   dmn.js                     minified IIFE, defines window.XieshangDmn (dmn-js, Chinese words in src/dmn-zh.js)
//   dmn-js-shared.css, dmn-js-decision-table.css, dmn-js-decision-table-controls.css, dmn-js-drd.css,
//   dmn-js-literal-expression.css, dmn-js-boxed-expression.css, dmn-js-boxed-expression-controls.css,
//   diagram-js.css, dmn-font/{css,font}/...        copied from dmn-js/dist/assets
//   LICENSES.txt               licenses of every package in the bundle + legal comments
//
// No timestamps, absolute paths or download addresses are written anywhere.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE, bundle, bundledPackages, licensesText, outputDir, pkgInfo, report } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = outputDir(here, 'dmn');
const assets = path.join(here, 'node_modules', 'dmn-js', 'dist', 'assets');

function copy(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
}

const dmnJs = pkgInfo(here, 'dmn-js');
const result = await bundle(here, 'src/dmn.js',
  `/*! xieshang decision-table editor. Bundles dmn-js ${dmnJs.version} (c) Camunda Services GmbH and ` +
  'other packages; licenses in LICENSES.txt. The bpmn.io watermark must stay visible. */', 'external');

let legal = '';
for (const file of result.outputFiles) {
  const base = path.basename(file.path);
  if (base === 'dmn.js') {
    fs.writeFileSync(path.join(outdir, 'dmn.js'), file.contents);
  } else if (base === 'dmn.js.LEGAL.txt') {
    legal = file.text;
  } else {
    throw new Error('unexpected esbuild output ' + base);
  }
}

const sheets = fs.readdirSync(assets).filter((f) => f.endsWith('.css')).sort();
for (const f of sheets) copy(path.join(assets, f), path.join(outdir, f));
copy(path.join(assets, 'dmn-font', 'css', 'dmn.css'), path.join(outdir, 'dmn-font', 'css', 'dmn.css'));
for (const f of fs.readdirSync(path.join(assets, 'dmn-font', 'font')).sort()) {
  copy(path.join(assets, 'dmn-font', 'font', f), path.join(outdir, 'dmn-font', 'font', f));
}

// Packages that ship no license file: their license as their package.json declares it, written out here.
const MIT = (holder) => 'MIT License\n\nCopyright (c) ' + holder + '\n\n' +
  'Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated\n' +
  'documentation files (the "Software"), to deal in the Software without restriction, including without limitation\n' +
  'the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and\n' +
  'to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\n' +
  'The above copyright notice and this permission notice shall be included in all copies or substantial portions\n' +
  'of the Software.\n\n' +
  'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO\n' +
  'THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\n' +
  'AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF\n' +
  'CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS\n' +
  'IN THE SOFTWARE.\n';
const ISC = (holder) => 'The ISC License\n\nCopyright (c) ' + holder + '\n\n' +
  'Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby\n' +
  'granted, provided that the above copyright notice and this permission notice appear in all copies.\n\n' +
  'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING\n' +
  'ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL,\n' +
  'DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS,\n' +
  'WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE\n' +
  'USE OR PERFORMANCE OF THIS SOFTWARE.\n';
const BY_HAND = {
  '@bpmn-io/semver-compat': 'The package ships no license file; its package.json and README declare MIT\n' +
    '(author: bpmn.io contributors):\n\n' + MIT('bpmn.io contributors') +
    '\nIts dist/index.js includes code of the semver package, which is under the ISC license:\n\n' +
    ISC('Isaac Z. Schlueter and Contributors')
};

// LICENSES.txt: dmn-js first (verbatim), then every other bundled package, sorted.
const bundled = bundledPackages(result, ['dmn-js', 'diagram-js']); // diagram-js.css ships even if tree-shaken
const names = ['dmn-js', ...[...bundled].filter((n) => n !== 'dmn-js').sort()];
let text = licensesText(here,
  'Third-party licenses for webui/static/dmn/\n\n' +
  'dmn.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json). The stylesheets and dmn-font/ are copied\n' +
  'unchanged from dmn-js/dist/assets.\n\n', names.filter((n) => !(n in BY_HAND)));
for (const name of names.filter((n) => n in BY_HAND)) {
  const info = pkgInfo(here, name);
  text += '\n' + RULE + '\n' + `${name}@${info.version}  (license: ${info.license})\n` + RULE + '\n' + BY_HAND[name];
}

if (legal.trim()) {
  text += '\n' + RULE + '\nLegal comments extracted from dmn.js by esbuild\n' + RULE + '\n' + legal;
}

fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), text);

report(outdir, ['dmn.js', ...sheets, 'LICENSES.txt']);
