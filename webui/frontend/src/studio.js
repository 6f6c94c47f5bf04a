// xieshang process studio: the BPMN modeler page.
//
// Bundled by studio.mjs into webui/static/studio/studio.js (a minified IIFE). It starts on a page that has an
// element #studio with a <script type="application/json" id="studio-config"> block (urls, texts, revision: the
// content security policy allows no inline code), and defines window.XieshangStudio for tests:
//
//   XieshangStudio.modeler      the bpmn-js Modeler
//   XieshangStudio.open(xml)    import a diagram (a promise)
//   XieshangStudio.xml()        the diagram as XML (a promise)
//   XieshangStudio.lintIssues   the live lint's last issues by element id; lintRuns counts the lint runs
//
// The bpmn.io watermark that bpmn-js draws in the bottom-right corner of the canvas is required by the bpmn-js
// license: do not hide or overlap it.

import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import LintModule from 'bpmn-js-bpmnlint';

import spiffworkflow from './studio/spiffworkflow.json';
import EngineProvider from './studio/provider';
import KeepUnshown from './studio/keep';
import translator from './studio/zh';
import lintConfig from './studio/lint';

var LABEL_FONT = 'Arial, "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", ' +
  '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';

// Marker class on elements with a problem (styled in studio.css).
var PROBLEM = 'xs-problem';
var KEPT = /^(unresolved reference <|no bpmnElement referenced in )/;

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function createModeler(canvas, panel, data) {
  return new BpmnModeler({
    container: canvas,
    textRenderer: { defaultStyle: { fontFamily: LABEL_FONT }, externalStyle: { fontFamily: LABEL_FONT } },
    propertiesPanel: { parent: panel },
    // live lint (bpmnlint with our rules, studio/lint.js) while the owner draws; the server's 校验 decides
    linting: {
      active: true,
      bpmnlint: lintConfig((data.roles || []).map(function (role) { return role.name; }))
    },
    additionalModules: [
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, LintModule,
      {
        __init__: ['engineProvider', 'keepUnshown'], engineProvider: ['type', EngineProvider],
        keepUnshown: ['type', KeepUnshown], studioData: ['value', data],
        translate: ['value', translator(data.lang)]
      }
    ],
    moddleExtensions: { spiffworkflow: spiffworkflow }
  });
}

// A relative path from the BPMN file's folder (the engine resolves form paths against it).
function relative(bpmnPath, path) {
  var slash = bpmnPath.lastIndexOf('/');
  var folder = slash < 0 ? '' : bpmnPath.slice(0, slash + 1);
  return path.indexOf(folder) === 0 ? path.slice(folder.length) : null;
}

function Studio(root, config) {
  var self = this;
  this.root = root;
  this.config = config;
  this.texts = config.texts;
  this.revision = config.revision;
  this.files = config.files.slice();
  this.dirty = false;
  this.overlays = [];
  var data = {
    texts: config.texts, lang: config.lang, operators: [], decisions: config.decisions, roles: config.roles,
    formFiles: function () {
      return self.files.map(function (f) { return relative(config.bpmn_path, f); })
        .filter(function (f) { return f && f.endsWith('.json'); }).sort();
    },
    newForm: function (name) { return self.newForm(name); }
  };
  this.data = data;
  this.status = root.querySelector('#studio-status');
  this.problemList = root.querySelector('#studio-problems');
  this.modeler = createModeler(root.querySelector('#studio-canvas'), root.querySelector('#studio-panel'), data);
  this.lintIssues = {};
  this.lintRuns = 0;
  this.modeler.on('linting.completed', function (event) {
    self.lintIssues = event.issues;
    self.lintRuns += 1;
  });
  this.modeler.on('commandStack.changed', function () {
    self.dirty = true;
    self.say(self.texts.unsaved, 'info');
  });
  root.querySelector('#studio-save').addEventListener('click', function () { self.save(); });
  root.querySelector('#studio-validate').addEventListener('click', function () { self.validate(); });
  root.querySelector('#studio-deploy-form').addEventListener('submit', function (event) {
    event.preventDefault();
    self.deploy();
  });
  window.addEventListener('beforeunload', function (event) {
    if (self.dirty) event.preventDefault();
  });
  this.request('GET', config.urls.operators).then(function (answer) {
    data.operators = answer.body.operators || [];
  });
}

Studio.prototype.request = function (method, url, body) {
  var options = {
    method: method, credentials: 'same-origin',
    headers: { 'Accept': 'application/json', 'X-CSRF-Token': this.config.csrf }
  };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  return fetch(url, options).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (json) {
      return { status: response.status, body: json };
    });
  });
};

Studio.prototype.say = function (message, kind, action) {
  this.status.textContent = '';
  this.status.className = 'studio-status studio-status-' + (kind || 'info');
  this.status.appendChild(el('span', null, message));
  if (action) this.status.appendChild(action);
};

Studio.prototype.open = function (xml) {
  var self = this;
  return this.modeler.importXML(xml).then(function (result) {
    self.modeler.get('canvas').zoom('fit-viewport', 'auto');
    self.dirty = false;
    self.clearProblems();
    return result;
  });
};

Studio.prototype.xml = function () {
  return this.modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
};

Studio.prototype.load = function () {
  var self = this;
  return this.request('GET', this.config.urls.draft).then(function (answer) {
    if (answer.status !== 200) {
      self.say(answer.body.message || self.texts.failed, 'error');
      return null;
    }
    self.revision = answer.body.revision;
    self.files = answer.body.files;
    self.data.decisions = answer.body.decisions;
    self.syncRevision();
    return self.open(answer.body.text).then(function (result) {
      // references to no element and undrawn diagram parts are kept as they were (studio/keep.js): not news
      var other = result.warnings.filter(function (w) { return !KEPT.test(w.message || ''); });
      self.say(other.length ? self.texts.openedWithWarnings.replace('%s', other.length) : self.texts.opened,
        other.length ? 'warning' : 'info');
      other.forEach(function (w) { console.warn('studio: ' + w.message); });
      return result;
    });
  }).catch(function (err) {
    self.say(self.texts.failed + ' ' + (err && err.message ? err.message : err), 'error');
  });
};

// Save one file of the draft against the revision we hold; a stale revision means someone else saved.
Studio.prototype.put = function (path, text) {
  var self = this;
  // one save at a time: each carries the revision the previous one returned
  this.saving = (this.saving || Promise.resolve()).then(function () { return self.putNow(path, text); });
  return this.saving;
};

Studio.prototype.putNow = function (path, text) {
  var self = this;
  return this.request('PUT', this.config.urls.file.replace('__path__', path),
    { text: text, revision: this.revision }).then(function (answer) {
    if (answer.status === 200) {
      self.revision = answer.body.revision;
      self.files = answer.body.files;
      self.syncRevision();
      return true;
    }
    if (answer.status === 409) {
      self.conflict();
    } else {
      self.showProblems(answer.body.problems || [], answer.body.message || self.texts.failed);
    }
    return false;
  });
};

// The page's plain forms (upload) carry the revision too: keep it the one this editor last saved.
Studio.prototype.syncRevision = function () {
  var self = this;
  this.root.querySelectorAll('input[name="revision"]').forEach(function (input) { input.value = self.revision; });
  var shown = this.root.querySelector('#studio-revision');
  if (shown) shown.textContent = String(this.revision);
};

Studio.prototype.conflict = function () {
  var self = this;
  var reload = el('button', 'button', this.texts.reload);
  reload.type = 'button';
  reload.addEventListener('click', function () { self.dirty = false; self.load(); });
  this.say(this.texts.conflict, 'error', reload);
  // Nothing is lost: the diagram stays as it is, and a copy can be downloaded before reloading.
  this.xml().then(function (xml) {
    var link = el('a', 'studio-keep', self.texts.keepCopy);
    link.href = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
    link.download = self.config.bpmn_path.split('/').pop();
    self.status.appendChild(link);
  });
};

Studio.prototype.save = function () {
  var self = this;
  this.say(this.texts.saving, 'info');
  return this.xml().then(function (xml) {
    return self.put(self.config.bpmn_path, xml);
  }).then(function (saved) {
    if (saved) {
      self.dirty = false;
      self.say(self.texts.saved, 'success');
    }
    return saved;
  });
};

// A new form's two files, made in the draft now (the form editor fills them in); returns their relative paths.
Studio.prototype.newForm = function (name) {
  var path = this.config.bpmn_path, slash = path.lastIndexOf('/');
  var folder = slash < 0 ? '' : path.slice(0, slash + 1);      // form paths are relative to the diagram's folder
  var schema = 'forms/' + name + '.schema.json', ui = 'forms/' + name + '.ui.json';
  var self = this;
  var chain = Promise.resolve(true);
  if (this.files.indexOf(folder + schema) < 0) {
    chain = chain.then(function (ok) {
      return ok && self.put(folder + schema, JSON.stringify(
        { title: name, type: 'object', properties: {}, required: [] }, null, 2) + '\n');
    });
  }
  if (this.files.indexOf(folder + ui) < 0) {
    chain = chain.then(function (ok) { return ok && self.put(folder + ui, '{}\n'); });
  }
  chain.then(function (ok) { if (ok) self.say(self.texts.formCreated.replace('%s', folder + schema), 'success'); });
  return [schema, ui];
};

Studio.prototype.clearProblems = function () {
  var overlays = this.modeler.get('overlays'), canvas = this.modeler.get('canvas');
  this.overlays.forEach(function (item) {
    overlays.remove(item.overlay);
    canvas.removeMarker(item.id, PROBLEM);
  });
  this.overlays = [];
  this.problemList.textContent = '';
};

// Mark each problem on its element (a red outline and a badge with the message); list them all beside.
Studio.prototype.showProblems = function (problems, heading) {
  var self = this;
  var registry = this.modeler.get('elementRegistry'), overlays = this.modeler.get('overlays');
  var canvas = this.modeler.get('canvas');
  this.clearProblems();
  if (!problems.length) return;
  this.problemList.appendChild(el('h3', null, heading));
  var list = el('ul', 'studio-problem-list');
  var byElement = {};
  problems.forEach(function (problem) {
    var item = el('li', 'studio-problem');
    var where = problem.element_id ? problem.element_id : (problem.file + (problem.line ? ':' + problem.line : ''));
    item.appendChild(el('code', null, where));
    item.appendChild(el('span', null, ' ' + problem.message));
    var shape = problem.element_id ? registry.get(problem.element_id) : null;
    if (shape) {
      item.classList.add('studio-problem-on-diagram');
      item.setAttribute('data-element-id', problem.element_id);
      item.addEventListener('click', function () {
        self.modeler.get('selection').select(shape);
        canvas.scrollToElement(shape);
      });
      (byElement[problem.element_id] = byElement[problem.element_id] || []).push(problem.message);
    } else {
      item.classList.add('studio-problem-elsewhere');
    }
    list.appendChild(item);
  });
  this.problemList.appendChild(list);
  var first = Object.keys(byElement)[0];
  if (first) {                         // show the first marked element at full size, clear of the palette
    canvas.zoom(1);
    canvas.scrollToElement(registry.get(first), { top: 120, right: 120, bottom: 120, left: 220 });
  }
  Object.keys(byElement).forEach(function (id) {
    canvas.addMarker(id, PROBLEM);
    var badge = el('div', 'studio-badge', String(byElement[id].length));
    badge.title = byElement[id].join('\n');
    badge.setAttribute('data-element-id', id);
    var note = el('div', 'studio-badge-text', byElement[id][0]);
    var box = el('div', 'studio-overlay');
    box.appendChild(badge);
    box.appendChild(note);
    var overlay = overlays.add(id, 'xs-problem', { position: { top: -14, left: -8 }, html: box });
    self.overlays.push({ id: id, overlay: overlay });
  });
};

Studio.prototype.saveIfDirty = function () {
  return this.dirty ? this.save() : Promise.resolve(true);
};

Studio.prototype.validate = function () {
  var self = this;
  return this.saveIfDirty().then(function (saved) {
    if (!saved) return null;
    self.say(self.texts.validating, 'info');
    return self.request('POST', self.config.urls.review).then(function (answer) {
      var problems = answer.body.problems || [];
      self.showProblems(problems, self.texts.problems);
      self.say(problems.length ? self.texts.invalid.replace('%s', problems.length) : self.texts.valid,
        problems.length ? 'error' : 'success');
      return answer.body;
    });
  });
};

Studio.prototype.deploy = function () {
  var self = this;
  var note = this.root.querySelector('#studio-note').value;
  return this.saveIfDirty().then(function (saved) {
    if (!saved) return null;
    self.say(self.texts.deploying, 'info');
    return self.request('POST', self.config.urls.deploy, { revision: self.revision, note: note })
      .then(function (answer) {
        if (answer.status === 200) {
          self.clearProblems();
          var link = el('a', 'studio-next', self.texts.startIt);
          link.href = answer.body.start_url;
          self.say(self.texts.deployed.replace('%s', answer.body.version), 'success', link);
          self.root.querySelector('#studio-note').value = '';
          return self.load().then(function () {
            self.say(self.texts.deployed.replace('%s', answer.body.version), 'success', link);
          });
        }
        if (answer.status === 409) {
          self.conflict();
        } else {
          self.showProblems(answer.body.problems || [], self.texts.problems);
          self.say(answer.body.message || self.texts.failed, 'error');
        }
        return null;
      });
  });
};

function start() {
  var root = document.getElementById('studio');
  var block = document.getElementById('studio-config');
  if (!root || !block) return;
  var studio = new Studio(root, JSON.parse(block.textContent));
  window.XieshangStudio = studio;
  studio.ready = studio.load();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
