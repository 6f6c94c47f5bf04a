// xieshang BPMN diagram viewer.
//
// Bundled by build.mjs into webui/static/bpmn/viewer.js (a minified IIFE) that
// defines window.XieshangDiagram. Usage from a page:
//
//   XieshangDiagram.render(container, xmlText, {done: [...], current: [...], overdue: [...]})
//     .then(function (viewer) { ... });   // viewer is null if the diagram could not be shown
//
// The bpmn.io watermark that bpmn-js draws in the bottom-right corner of the
// container is required by the bpmn-js license: do not hide or overlap it.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

// Marker kind -> CSS class (styled in viewer.css).
var MARKER_CLASSES = {
  done: 'xs-done',
  current: 'xs-current',
  overdue: 'xs-overdue'
};

// One live viewer per container, so re-rendering into the same element does
// not leak the previous one.
var VIEWER_KEY = '__xieshangDiagramViewer';

// Label font: bpmn-js measures and lays out labels with this family, so it is
// set here (not only in CSS). CJK fallbacks keep Chinese names from rendering
// as boxes.
var LABEL_FONT = 'Arial, "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", ' +
  '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';

function resolveContainer(container) {
  if (typeof container === 'string') {
    var found = document.querySelector(container);
    if (!found) {
      throw new Error('XieshangDiagram: container not found: ' + container);
    }
    return found;
  }
  if (!container || container.nodeType !== 1) {
    throw new Error('XieshangDiagram: container must be an element or a selector');
  }
  return container;
}

function destroyPrevious(container) {
  var previous = container[VIEWER_KEY];
  if (previous) {
    try {
      previous.destroy();
    } catch (e) {
      // already detached; nothing to clean up
    }
    container[VIEWER_KEY] = null;
  }
}

function showError(container, err) {
  var detail = (err && err.message) ? err.message : String(err);
  container.textContent = '';
  var box = document.createElement('div');
  box.className = 'xs-diagram-error';
  box.setAttribute('role', 'alert');
  var zh = document.createElement('p');
  zh.textContent = '流程图无法显示：' + detail;
  var en = document.createElement('p');
  en.textContent = 'The process diagram could not be displayed.';
  box.appendChild(zh);
  box.appendChild(en);
  container.appendChild(box);
}

function applyMarkers(viewer, markers) {
  var canvas = viewer.get('canvas');
  var elementRegistry = viewer.get('elementRegistry');
  var missing = [];

  Object.keys(MARKER_CLASSES).forEach(function (kind) {
    var ids = (markers && markers[kind]) || [];
    ids.forEach(function (id) {
      if (elementRegistry.get(id)) {
        canvas.addMarker(id, MARKER_CLASSES[kind]);
      } else {
        missing.push(id);
      }
    });
  });

  if (missing.length && window.console && console.warn) {
    console.warn('XieshangDiagram: no diagram element for ids', missing);
  }
}

// Fit the whole diagram into the container, and fit again when the container
// changes size (window resize, phone rotation) as long as the user has not
// panned or zoomed by hand.
function fitAndFollowResize(viewer, container) {
  var canvas = viewer.get('canvas');
  var fitting = false;
  var userMoved = false;

  function fit() {
    fitting = true;
    try {
      canvas.zoom('fit-viewport', 'auto');
    } finally {
      fitting = false;
    }
  }

  fit();

  viewer.on('canvas.viewbox.changed', function () {
    if (!fitting) {
      userMoved = true;
    }
  });

  if (typeof ResizeObserver === 'undefined') {
    return;
  }

  var observer = new ResizeObserver(function () {
    if (!container.clientWidth || !container.clientHeight) {
      return;
    }
    fitting = true;
    try {
      canvas.resized();
    } finally {
      fitting = false;
    }
    if (!userMoved) {
      fit();
    }
  });
  observer.observe(container);
  viewer.on('diagram.destroy', function () {
    observer.disconnect();
  });
}

/**
 * Render a BPMN 2.0 XML document into `container`.
 *
 * @param {Element|string} container element (or CSS selector); it must have a height
 * @param {string} xmlText BPMN 2.0 XML
 * @param {{done?: string[], current?: string[], overdue?: string[]}} [markers]
 * @return {Promise<Object|null>} the bpmn-js NavigatedViewer, or null on import error
 */
function render(container, xmlText, markers) {
  var el;
  try {
    el = resolveContainer(container);
  } catch (err) {
    return Promise.reject(err);
  }

  destroyPrevious(el);
  el.textContent = '';

  var viewer = new NavigatedViewer({
    container: el,
    textRenderer: {
      defaultStyle: { fontFamily: LABEL_FONT },
      externalStyle: { fontFamily: LABEL_FONT }
    }
  });
  el[VIEWER_KEY] = viewer;

  return viewer.importXML(xmlText).then(function () {
    // Expanded subprocesses are drawn inline on the root plane: stay there
    // (no drill-down into any subprocess plane).
    applyMarkers(viewer, markers);
    fitAndFollowResize(viewer, el);
    return viewer;
  }, function (err) {
    destroyPrevious(el);
    showError(el, err);
    return null;
  });
}

window.XieshangDiagram = {
  render: render,
  markerClasses: MARKER_CLASSES
};
