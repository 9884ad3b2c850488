// Progressive enhancement only: every page works without this file (times stay in UTC, charts fall back to tables).
(function () {
  'use strict';

  // Timestamps arrive as UTC; show them in the viewer's own time zone.
  function localizeTimes(root) {
    root.querySelectorAll('time[data-local]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      el.textContent = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
      el.title = el.getAttribute('datetime');
      el.removeAttribute('data-local');
    });
  }

  // Charts: <canvas data-chart='{"type":"bar","labels":[...],"datasets":[...],"links":[...]}'>; clicking a bar opens its link.
  function renderCharts(root) {
    if (typeof window.Chart === 'undefined') return;
    root.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute('data-chart'));
      canvas.removeAttribute('data-chart');
      var palette = ['#2f5bc4', '#e11d48', '#f59e0b', '#10b981', '#8b5cf6', '#0ea5e9', '#64748b'];
      spec.datasets.forEach(function (ds, i) {
        if (!ds.backgroundColor) ds.backgroundColor = spec.type === 'doughnut' ? palette : palette[i % palette.length];
      });
      new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          indexAxis: spec.horizontal ? 'y' : 'x',
          plugins: { legend: { display: spec.type === 'doughnut' || spec.datasets.length > 1, position: 'bottom' } },
          scales: spec.type === 'doughnut' ? {} : { x: { stacked: !!spec.stacked }, y: { stacked: !!spec.stacked, beginAtZero: true } },
          onClick: function (evt, elements) {
            if (!spec.links || !elements.length) return;
            var link = spec.links[elements[0].index];
            if (link) window.location.href = link;
          }
        }
      });
    });
  }

  function enhance(root) {
    localizeTimes(root);
    renderCharts(root);
  }

  document.addEventListener('DOMContentLoaded', function () {
    enhance(document);
    // Filters that submit themselves when changed.
    document.querySelectorAll('[data-autosubmit]').forEach(function (el) {
      el.addEventListener('change', function () { el.form && el.form.requestSubmit(); });
    });
  });

  // Confirmation for destructive actions: <form data-confirm="Delete this job?">
  document.addEventListener('submit', function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);

  // htmx: send the antiforgery token on every request; re-run enhancements on swapped content.
  document.addEventListener('htmx:configRequest', function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers['X-CSRF-TOKEN'] = meta.getAttribute('content');
  });
  document.addEventListener('htmx:afterSwap', function (e) { enhance(e.target); });
  document.addEventListener('htmx:responseError', function (e) {
    var target = e.detail.target;
    if (target && e.detail.xhr && e.detail.xhr.responseText && e.detail.xhr.getResponseHeader('Content-Type') && e.detail.xhr.getResponseHeader('Content-Type').indexOf('text/html') === 0) {
      target.innerHTML = e.detail.xhr.responseText;
    }
  });
})();
