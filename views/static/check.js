// Live progress of a running check: Server-Sent Events, falling back to polling the JSON
// API. When the check ends, the page reloads to show the server-rendered report. Without
// JavaScript the page refreshes itself (<noscript> meta refresh).
(function () {
  'use strict';
  var panel = document.getElementById('progress');
  if (!panel) return;
  var bar = document.getElementById('progress-bar');
  var percent = document.getElementById('progress-percent');
  var message = document.getElementById('progress-message');
  var finished = false;

  function show(p) {
    if (!p) return;
    var value = Math.max(0, Math.min(100, Math.round(p.percent || 0)));
    bar.value = value;
    bar.textContent = value + ' %';
    percent.textContent = String(value);
    if (typeof p.message === 'string') message.textContent = p.message;
  }

  function done() {
    if (finished) return;
    finished = true;
    show({ percent: 100, message: 'Report ready' });
    window.location.reload();
  }

  function poll() {
    var delay = 1000;
    function tick() {
      if (finished) return;
      fetch(panel.getAttribute('data-status'), { headers: { Accept: 'application/json' } })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(
          function (s) {
            if (s && /^(completed|failed|rejected)$/.test(s.status)) return done();
            if (s && s.progress) show(s.progress);
            delay = Math.min(5000, delay + 500);
            setTimeout(tick, delay);
          },
          function () {
            setTimeout(tick, 5000);
          },
        );
    }
    tick();
  }

  if (!('EventSource' in window)) return poll();
  var failures = 0;
  var source = new EventSource(panel.getAttribute('data-events'));
  source.addEventListener('progress', function (e) {
    failures = 0;
    try {
      show(JSON.parse(e.data));
    } catch {
      /* ignore a malformed event */
    }
  });
  source.addEventListener('done', function () {
    source.close();
    done();
  });
  source.onerror = function () {
    // The browser reconnects by itself; after repeated failures, poll instead.
    if (++failures >= 3) {
      source.close();
      poll();
    }
  };
})();
