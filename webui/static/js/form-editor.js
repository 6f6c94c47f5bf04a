// The studio's form editor (webui/studio_forms.py): a field list and the raw JSON of both form files, kept in sync
// through the server, which also draws the live preview with the renderer participants see. Every change is sent
// (debounced) to the preview endpoint; its answer updates the other side, or names the problems while the last good
// preview stays. Save writes both files into the draft against the revision the page opened.
(function () {
  'use strict';
  var root = document.getElementById('form-editor');
  var dataNode = document.getElementById('form-editor-data');
  if (!root || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var msg = root.dataset;
  var list = document.getElementById('fe-fields');
  var box = document.getElementById('fe-fields-box');
  var schemaBox = document.getElementById('fe-schema');
  var uiBox = document.getElementById('fe-ui');
  var preview = document.getElementById('fe-preview');
  var status = document.getElementById('fe-status');
  var problemBox = document.getElementById('fe-problems');
  var problemList = document.getElementById('fe-problem-list');
  var fieldTemplate = document.getElementById('fe-field-template');
  var optionTemplate = document.getElementById('fe-option-template');
  var addButton = document.getElementById('fe-add');
  var saveButton = document.getElementById('fe-save');

  var fields = data.fields;
  var good = { schema: data.schema_text, ui: data.ui_text };   // the last texts the server accepted
  // The texts the field list was read from: every field-list change is written over them (a field's `was` names its
  // key there), so what the list does not show (conditions, limits, audiences) stays, renamed fields included.
  var origin = { schema: data.schema_text, ui: data.ui_text };
  var revision = data.revision;
  var seq = 0, timer = null, pending = 'fields', inflight = null, dirty = false;
  var jsonBroken = data.problems.length > 0, lastOk = !jsonBroken;

  schemaBox.value = data.schema_text;
  uiBox.value = data.ui_text;

  function say(text) { status.textContent = text; }

  // --- the field list <-> DOM ---
  function only(row, kind) {
    row.querySelectorAll('[data-only]').forEach(function (el) {
      el.hidden = el.dataset.only.split(' ').indexOf(kind) < 0;
    });
  }

  function optionRow(option) {
    var li = optionTemplate.content.firstElementChild.cloneNode(true);
    li.querySelector('[data-o=label]').value = option.label || '';
    li.querySelector('[data-o=value]').value = option.value || '';
    return li;
  }

  function fieldRow(field, index) {
    var li = fieldTemplate.content.firstElementChild.cloneNode(true);
    li.dataset.was = field.was || '';
    li.querySelector('.fe-num').textContent = (index + 1) + '.';
    li.querySelector('.fe-name').textContent = field.title || field.key;
    ['title', 'key', 'help', 'placeholder'].forEach(function (k) { li.querySelector('[data-k=' + k + ']').value = field[k] || ''; });
    li.querySelector('[data-k=kind]').value = field.kind;
    li.querySelector('[data-k=required]').checked = !!field.required;
    li.querySelector('[data-k=role]').value = field.role || '';
    li.querySelector('[data-k=multiple]').checked = !!field.multiple;
    li.querySelector('[data-k=date_rule]').value = field.date_rule || '';
    li.querySelectorAll('[data-unit-kind]').forEach(function (el) {
      el.checked = (field.unit_kinds || []).indexOf(el.dataset.unitKind) >= 0;
    });
    var options = li.querySelector('.fe-option-list');
    (field.options || []).forEach(function (o) { options.appendChild(optionRow(o)); });
    var kindSelect = li.querySelector('[data-k=kind]');
    if (field.kind !== 'advanced') {
      kindSelect.querySelector('option[value=advanced]').remove();
    } else {
      kindSelect.disabled = true;
    }
    li.querySelectorAll('input, select').forEach(function (el) {
      el.id = 'fe-' + index + '-' + (el.dataset.k || el.dataset.unitKind || el.dataset.o || 'x') +
        '-' + Math.random().toString(36).slice(2, 7);
    });
    only(li, field.kind);
    return li;
  }

  // Removing a focused box makes Chromium fire its pending `change`: the handlers ignore events while drawing.
  var drawing = false;
  function draw() {
    drawing = true;
    list.textContent = '';
    drawing = false;
    fields.forEach(function (f, i) { list.appendChild(fieldRow(f, i)); });
    addButton.disabled = fields.length >= data.limits.fields;
    addButton.title = addButton.disabled ? msg.msgMaxFields : '';
  }

  function read(row) {
    var get = function (k) { return row.querySelector('[data-k=' + k + ']'); };
    var kind = get('kind').value;
    var options = [];
    row.querySelectorAll('.fe-option').forEach(function (o) {
      options.push({ label: o.querySelector('[data-o=label]').value, value: o.querySelector('[data-o=value]').value });
    });
    var kinds = [];
    row.querySelectorAll('[data-unit-kind]').forEach(function (el) { if (el.checked) kinds.push(el.dataset.unitKind); });
    return { key: get('key').value.trim(), was: row.dataset.was, title: get('title').value, kind: kind, required: get('required').checked,
      help: get('help').value, placeholder: get('placeholder').value, options: options, role: get('role').value,
      multiple: get('multiple').checked, unit_kinds: kinds, date_rule: get('date_rule').value };
  }

  function readAll() {
    fields = Array.prototype.map.call(list.children, read);
  }

  // --- talking to the server ---
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': root.dataset.csrf, 'Accept': 'application/json' },
      body: JSON.stringify(body) });
  }

  function showProblems(problems) {
    problemList.textContent = '';
    list.querySelectorAll('.fe-field-problem').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    list.querySelectorAll('.fe-field').forEach(function (r) { r.classList.remove('has-error'); });
    problems.forEach(function (p) {
      var li = document.createElement('li');
      var code = document.createElement('code');
      code.textContent = p.where;
      li.append(code, ' ', p.message);
      problemList.appendChild(li);
      var row = p.field !== null && p.field !== undefined ? list.children[p.field] : null;
      if (row) {
        var slot = row.querySelector('.fe-field-problem');
        slot.hidden = false;
        slot.textContent = (slot.textContent ? slot.textContent + ' ' : '') + p.message;
        row.classList.add('has-error');
      }
    });
    problemBox.hidden = problems.length === 0;
  }

  function refresh(mode) {
    var mine = ++seq;
    var body = mode === 'fields'
      ? { mode: 'fields', fields: fields, schema_text: origin.schema, ui_text: origin.ui }
      : { mode: 'json', schema_text: schemaBox.value, ui_text: uiBox.value };
    say(msg.msgWorking);
    inflight = post(data.preview_url, body).then(function (r) { return r.json(); }).then(function (answer) {
      if (mine !== seq) return;            // a newer change is on its way
      inflight = null;
      lastOk = !!answer.ok;
      if (!answer.ok) {
        showProblems(answer.problems || []);
        say(msg.msgKept);
        if (mode === 'json') lockFields(true);
        return;
      }
      showProblems([]);
      good = { schema: answer.schema_text, ui: answer.ui_text };
      preview.innerHTML = answer.html;     // the server's own rendering, escaped there
      if (mode === 'fields') {
        if (document.activeElement !== schemaBox) schemaBox.value = answer.schema_text;
        if (document.activeElement !== uiBox) uiBox.value = answer.ui_text;
        fields.forEach(function (f, i) {
          var name = list.children[i] && list.children[i].querySelector('.fe-name');
          if (name) name.textContent = f.title || f.key;
        });
      } else {
        origin = { schema: answer.schema_text, ui: answer.ui_text };
        fields = answer.fields;
        lockFields(false);
        draw();
      }
      say(msg.msgUpdated + (dirty ? ' · ' + msg.msgUnsaved : ''));
    }).catch(function () { if (mine === seq) { inflight = null; lastOk = false; say(msg.msgNetwork); } });
    return inflight;
  }

  function lockFields(on) {
    jsonBroken = on;
    box.disabled = on;
    box.title = on ? msg.msgJsonLocked : '';
  }

  function later(mode) {
    dirty = true;
    clearTimeout(timer);
    pending = mode;
    timer = setTimeout(function () { timer = null; refresh(mode); }, 400);
  }

  // --- events ---
  list.addEventListener('input', function () { if (!drawing) { readAll(); later('fields'); } });
  list.addEventListener('change', function (event) {
    if (drawing) return;
    readAll();
    if (event.target.dataset.k === 'kind') {
      var row = event.target.closest('.fe-field');
      var field = fields[Array.prototype.indexOf.call(list.children, row)];
      if (field.kind === 'yesno') field.options = [{ value: 'true', label: msg.yes }, { value: 'false', label: msg.no }];
      else if (['select', 'radio', 'checkboxes'].indexOf(field.kind) >= 0 && !field.options.length) field.options = [{ value: '', label: '' }];
      draw();
    }
    later('fields');
  });
  list.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-act]');
    if (!button) return;
    var row = button.closest('.fe-field');
    var index = Array.prototype.indexOf.call(list.children, row);
    var act = button.dataset.act;
    readAll();
    if (act === 'up' && index > 0) fields.splice(index - 1, 0, fields.splice(index, 1)[0]);
    else if (act === 'down' && index < fields.length - 1) fields.splice(index + 1, 0, fields.splice(index, 1)[0]);
    else if (act === 'remove') fields.splice(index, 1);
    else if (act === 'add-option') {
      if (fields[index].options.length >= data.limits.options) { say(msg.msgMaxOptions); return; }
      fields[index].options.push({ value: '', label: '' });
    } else if (act === 'remove-option') {
      var option = button.closest('.fe-option');
      fields[index].options.splice(Array.prototype.indexOf.call(option.parentNode.children, option), 1);
    } else return;
    draw();
    var again = list.children[act === 'up' ? index - 1 : act === 'down' ? index + 1 : index];
    var focus = again && (act === 'add-option' ? again.querySelector('.fe-option:last-child [data-o=label]') : again.querySelector('[data-act=' + act + ']'));
    if (focus) focus.focus();
    later('fields');
  });
  addButton.addEventListener('click', function () {
    readAll();
    if (fields.length >= data.limits.fields) { say(msg.msgMaxFields); return; }
    var n = fields.length + 1, key = 'field_' + n;
    var taken = fields.map(function (f) { return f.key; });
    while (taken.indexOf(key) >= 0) { n += 1; key = 'field_' + n; }
    fields.push({ key: key, was: '', title: msg.newTitle + ' ' + n, kind: 'text', required: false, help: '', placeholder: '',
      options: [], role: '', multiple: false, unit_kinds: [], date_rule: '' });
    draw();
    list.lastElementChild.querySelector('[data-k=title]').focus();
    list.lastElementChild.querySelector('[data-k=title]').select();
    later('fields');
  });
  [schemaBox, uiBox].forEach(function (el) { el.addEventListener('input', function () { later('json'); }); });
  preview.addEventListener('submit', function (event) { event.preventDefault(); });
  preview.addEventListener('click', function (event) {
    if (event.target.closest('button')) event.preventDefault();    // row add/remove buttons do nothing here
  });

  function save() {
    if (!lastOk) { say(msg.msgFix); problemBox.focus(); return; }
    saveButton.disabled = true;
    say(msg.msgSaving);
    post(data.save_url, { schema_text: good.schema, ui_text: good.ui, revision: revision })
      .then(function (r) { return r.json(); }).then(function (answer) {
        saveButton.disabled = false;
        if (answer.ok) {
          revision = answer.revision;
          dirty = false;
          showProblems([]);
        } else if (answer.problems) {
          showProblems(answer.problems);
        }
        say(answer.message + (answer.detail ? ' (' + answer.detail + ')' : ''));
      }).catch(function () { saveButton.disabled = false; say(msg.msgNetwork); });
  }

  saveButton.addEventListener('click', function () {
    if (timer !== null) {                 // a change not yet sent: bring the files up to date first
      clearTimeout(timer);
      timer = null;
      refresh(pending).then(save);
    } else if (inflight) {
      inflight.then(save);
    } else {
      save();
    }
  });
  window.addEventListener('beforeunload', function (event) { if (dirty) { event.preventDefault(); event.returnValue = ''; } });

  lockFields(jsonBroken);
  draw();
}());
