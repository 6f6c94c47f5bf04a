// Build the committed chart bundle for the xieshang web UI.
//
//   node charts.mjs [OUTDIR]     (default: ../static/charts)
//
// Output (deterministic: same lockfile + same sources => byte-identical files):
//   charts.js      minified IIFE, defines window.XieshangCharts (chart.js, only the bar chart parts)
//   LICENSES.txt   licenses of every package in the bundle
//
// No timestamps, absolute paths or download addresses are written anywhere.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, bundledPackages, licensesText, outputDir, pkgInfo, report } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = outputDir(here, 'charts');

const chartJs = pkgInfo(here, 'chart.js');
const result = await bundle(here, 'src/charts.js',
  `/*! xieshang charts. Bundles chart.js ${chartJs.version} (MIT); licenses in LICENSES.txt. */`, 'none');
for (const file of result.outputFiles) {
  if (path.basename(file.path) !== 'charts.js') throw new Error('unexpected esbuild output ' + file.path);
  fs.writeFileSync(path.join(outdir, 'charts.js'), file.contents);
}

const names = [...bundledPackages(result)].sort();
fs.writeFileSync(path.join(outdir, 'LICENSES.txt'), licensesText(here,
  'Third-party licenses for webui/static/charts/\n\n' +
  'charts.js bundles the npm packages listed below (versions pinned by\n' +
  'webui/frontend/package-lock.json).\n\n', names));

report(outdir, ['charts.js', 'LICENSES.txt']);
