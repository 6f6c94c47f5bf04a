// The studio's decision-table page (webui/studio_decisions.py): dmn-js's table editor on one decision of a draft's
// DMN file; save sends the whole file back with the draft's revision and shows what the engine then refuses.
(function () {
  'use strict';
  var root = document.getElementById('decision-editor');
  var dataNode = document.getElementById('decision-editor-data');
  if (!root || !dataNode || !window.XieshangDmn) return;
  var data = JSON.parse(dataNode.textContent);
  var msg = root.dataset;
  var status = document.getElementById('dt-status');
  var saveButton = document.getElementById('dt-save');
  var problemBox = document.getElementById('dt-problems');
  var problemTitle = document.getElementById('dt-problems-title');
  var problemList = document.getElementById('dt-problem-list');
  var revision = data.revision, dirty = false, modeler = null;

  function say(text) { status.textContent = text; }

  function showProblems(title, problems) {
    problemList.textContent = '';
    (problems || []).forEach(function (p) {
      var li = document.createElement('li');
      var code = document.createElement('code');
      code.textContent = p.where;
      li.append(code, ' ', p.message);
      problemList.appendChild(li);
    });
    problemTitle.textContent = title;
    problemBox.hidden = !(problems && problems.length);
  }

  function save() {
    saveButton.disabled = true;
    say(msg.msgSaving);
    modeler.saveXML({ format: true }).then(function (result) {
      return fetch(data.save_url, { method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': msg.csrf },
        body: JSON.stringify({ text: result.xml, revision: revision }) });
    }).then(function (r) { return r.json(); }).then(function (answer) {
      saveButton.disabled = false;
      if (answer.ok) { revision = answer.revision; dirty = false; }
      say(answer.message + (answer.others ? ' ' + answer.others : '') + (answer.detail ? ' (' + answer.detail + ')' : ''));
      showProblems(answer.message, answer.problems);
      if (answer.problems && answer.problems.length) problemBox.focus();
    }).catch(function () { saveButton.disabled = false; say(msg.msgNetwork); });
  }

  window.XieshangDmn.open(document.getElementById('dt-canvas'), data.xml, data.decision, data.lang)
    .then(function (opened) {
      modeler = opened;
      saveButton.disabled = false;
      modeler.getActiveViewer().on('elements.changed', function () { dirty = true; say(msg.msgUnsaved); });
      saveButton.addEventListener('click', save);
      root.dataset.ready = 'true';
    }).catch(function (error) { say(msg.msgBroken + ' ' + error.message); });
  window.addEventListener('beforeunload', function (event) { if (dirty) { event.preventDefault(); event.returnValue = ''; } });
}());
