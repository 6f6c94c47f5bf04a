// xieshang decision-table editor.
//
// Bundled by dmn.mjs into webui/static/dmn/dmn.js (a minified IIFE) that defines window.XieshangDmn:
//
//   XieshangDmn.open(container, xmlText, decisionId, lang)
//     .then(function (modeler) { ... modeler.saveXML({ format: true }) ... });
//
// dmn-js's decision-table editor on the decision `decisionId` of the file (the first decision with a table when it
// is not found), its words in Chinese unless `lang` is 'en'. The bpmn.io watermark that dmn-js draws is required
// by its license: do not hide or overlap it.

import DmnModeler from 'dmn-js/lib/Modeler';
import { ZH } from './dmn-zh.js';

function translator(lang) {
  return function translate(template, replacements) {
    var text = lang === 'en' ? template : (ZH[template] || template);
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return replacements && key in replacements ? replacements[key] : '{' + key + '}';
    });
  };
}

function open(container, xml, decisionId, lang) {
  var modeler = new DmnModeler({
    container: container,
    // per view: dmn-js gives each view its own additionalModules (a `common` list would be replaced)
    decisionTable: { additionalModules: [{ translate: ['value', translator(lang)] }] }
  });
  return modeler.importXML(xml).then(function () {
    var tables = modeler.getViews().filter(function (view) { return view.type === 'decisionTable'; });
    var view = tables.filter(function (v) { return v.element.id === decisionId; })[0] || tables[0];
    if (!view) throw new Error('no decision table in this file');
    return modeler.open(view).then(function () { return modeler; });
  });
}

window.XieshangDmn = { open: open };
