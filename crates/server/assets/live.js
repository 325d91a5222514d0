// The rollout page, kept live: the server's Server-Sent Events (`update`, whose data is a
// RolloutLiveV1) change host rows in place and add the rollout's lines; a running step's time
// ticks every second. Each row keeps when its change was journaled (data-changed) and when the
// page showed it (data-shown), which the browser test compares.
(() => {
  const page = document.getElementById('rollout');
  const hosts = document.getElementById('hosts');
  const lines = document.getElementById('lines');
  const phase = document.getElementById('phase');
  const status = document.getElementById('live-status');
  const since = (ms) => {
    const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  };
  const tick = () => {
    for (const row of hosts.rows) {
      row.cells[3].textContent = row.dataset.started ? since(Number(row.dataset.started)) : '';
    }
  };
  const show = (host) => {
    let row = document.getElementById(`host-${host.host}`);
    if (!row) {
      row = hosts.insertRow();
      row.id = `host-${host.host}`;
      const name = document.createElement('th');
      name.scope = 'row';
      row.appendChild(name);
      for (let i = 0; i < 3; i++) row.insertCell();
      row.cells[3].className = 'n';
    }
    row.cells[0].textContent = host.host;
    row.cells[1].textContent = host.wave;
    row.cells[2].textContent = host.words;
    row.cells[2].className = `state ${host.state}`;
    row.dataset.started = host.step_started_ms ?? '';
    row.dataset.changed = host.changed_ms;
    row.dataset.shown = Date.now();
  };
  let first = true;
  const source = new EventSource(`/api/rollouts/${encodeURIComponent(page.dataset.rollout)}/events`);
  // Every (re)connection starts with the whole rollout.
  source.addEventListener('open', () => {
    status.textContent = 'live';
    first = true;
  });
  source.addEventListener('error', () => {
    status.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
  });
  source.addEventListener('update', (event) => {
    const live = JSON.parse(event.data);
    if (first) lines.replaceChildren();
    first = false;
    phase.textContent = live.phase;
    live.hosts.forEach(show);
    for (const line of live.lines) {
      const item = document.createElement('li');
      const at = document.createElement('time');
      at.textContent = new Date(line.at_ms).toISOString().replace(/\.\d+Z$/, 'Z');
      item.append(at, ` ${line.text}`);
      if (line.alarm) item.className = 'bad';
      lines.appendChild(item);
    }
    tick();
    if (live.over) {
      source.close();
      status.textContent = 'over';
    }
  });
  tick();
  setInterval(tick, 1000);
})();
