// xieshang charts: bundled by charts.mjs into webui/static/charts/charts.js (a minified IIFE)
// that defines window.XieshangCharts. Pages put their numbers in a <script type="application/json">
// block and a <canvas>; this file draws them. The same numbers are always in a table on the page.
//
//   XieshangCharts.bar(canvas, {labels: [...], datasets: [{label, data, stack?}], percent?, stacked?})

import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Colour-blind safe palette (Okabe-Ito), one colour per series.
var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442'];

var FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

function bar(canvas, spec) {
  var percent = !!spec.percent;
  var datasets = spec.datasets.map(function (set, i) {
    return {
      label: set.label,
      data: set.data,
      stack: spec.stacked ? 'all' : undefined,
      backgroundColor: PALETTE[i % PALETTE.length],
      borderWidth: 0
    };
  });
  var value = function (v) { return percent ? v + '%' : v; };
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: spec.labels, datasets: datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: spec.horizontal ? 'y' : 'x',
      font: { family: FONT },
      plugins: {
        legend: { display: datasets.length > 1, position: 'bottom', labels: { font: { family: FONT } } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var raw = spec.horizontal ? ctx.parsed.x : ctx.parsed.y;
              return ctx.dataset.label + ': ' + (raw === null ? '—' : value(raw));
            }
          }
        }
      },
      scales: (function () {
        var valueAxis = {
          beginAtZero: true, stacked: !!spec.stacked, max: percent ? 100 : undefined,
          ticks: { precision: 0, callback: value, font: { family: FONT } }
        };
        var categoryAxis = { stacked: !!spec.stacked, ticks: { font: { family: FONT } } };
        return spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
      })()
    }
  });
}

// Draw every <canvas data-chart="ID"> from the JSON block with id ID.
function drawAll(root) {
  var drawn = [];
  (root || document).querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute('data-chart'));
    if (!source) return;
    drawn.push(bar(canvas, JSON.parse(source.textContent)));
  });
  return drawn;
}

window.XieshangCharts = { bar: bar, drawAll: drawAll, version: Chart.version };
