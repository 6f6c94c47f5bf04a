// What build.mjs (the BPMN viewer) and charts.mjs (the charts) share: the output folder, one esbuild bundle of an
// entry point, the packages a bundle took in, and LICENSES.txt. Deterministic: same lockfile + same sources =>
// byte-identical files; no timestamps, absolute paths or download addresses are written anywhere.

import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

export const RULE = '='.repeat(78);

// The output folder OUTDIR (argv[2]) or the default under ../static, emptied; never the root or this folder.
export function outputDir(here, defaultName) {
  const outdir = path.resolve(here, process.argv[2] || path.join('..', 'static', defaultName));
  if (outdir === path.parse(outdir).root || outdir === here) {
    throw new Error('refusing to use ' + outdir + ' as output directory');
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  return outdir;
}

// Name, folder, version and license of an installed package.
export function pkgInfo(here, name) {
  const dir = path.join(here, 'node_modules', ...name.split('/'));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return { name, dir, version: pkg.version, license: pkg.license || '(see file)' };
}

// Package name for a node_modules path like node_modules/@scope/name/lib/x.js
function packageOf(input) {
  const parts = input.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return null;
  return parts[i + 1].startsWith('@') ? parts[i + 1] + '/' + parts[i + 2] : parts[i + 1];
}

// One minified IIFE of `entry` for the browser, kept in memory (`legalComments`: 'none' or 'external').
export function bundle(here, entry, banner, legalComments) {
  return build({
    absWorkingDir: here,
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    sourcemap: false,
    charset: 'ascii',
    legalComments,
    banner: { js: banner },
    metafile: true,
    write: false,
    outdir: 'out',
    logLevel: 'warning'
  });
}

// The packages a bundle took in (plus `also`), as a set of names.
export function bundledPackages(result, also = []) {
  const bundled = new Set(also);
  for (const input of Object.keys(result.metafile.inputs)) {
    const name = packageOf(input);
    if (name) bundled.add(name);
  }
  return bundled;
}

// LICENSES.txt: `intro`, the package list, then each package's license files (named when it has several);
// `stated` gives the text for a package that ships no license file (the license its package.json names).
export function licensesText(here, intro, names, stated = {}) {
  let text = intro + 'Packages: ' + names.map((n) => n + '@' + pkgInfo(here, n).version).join(', ') + '\n';
  for (const name of names) {
    const info = pkgInfo(here, name);
    const files = fs.readdirSync(info.dir).filter((f) => /^(licen[cs]e|copying|notice)(\.|$|-)/i.test(f)).sort();
    text += '\n' + RULE + '\n' + `${name}@${info.version}  (license: ${info.license})\n` + RULE + '\n';
    if (!files.length && stated[name]) {
      text += stated[name];
      continue;
    }
    if (!files.length) throw new Error(`no license file found for ${name}; add it to LICENSES.txt by hand`);
    for (const f of files) {
      if (files.length > 1) text += `--- ${f} ---\n`;
      const body = fs.readFileSync(path.join(info.dir, f), 'utf8').replace(/\r\n/g, '\n');
      text += body.endsWith('\n') ? body : body + '\n';
    }
  }
  return text;
}

// Print each written file's size, relative to where the command runs.
export function report(outdir, files) {
  const rel = path.relative(process.cwd(), outdir) || '.';
  for (const f of files) console.log(`${rel}/${f}  ${fs.statSync(path.join(outdir, f)).size} bytes`);
}
