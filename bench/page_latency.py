"""What the live and load benches run in a page to time live updates: `OBSERVE`.

Each new `data-updated-ms` of a task card (the `updated_at` the processor
wrote) is noted with how long after that moment the page showed it, in
`window.__lat` (ms); cards already on the page when it starts are not counted.
"""

OBSERVE = """
() => {
  window.__seen = new Map();
  window.__lat = [];
  const note = (el) => {
    const id = el.getAttribute('data-task-id');
    const ms = Number(el.getAttribute('data-updated-ms'));
    if (!id || !ms || window.__seen.get(id) === ms) return;
    window.__seen.set(id, ms);
    window.__lat.push(Date.now() - ms);
  };
  document.querySelectorAll('[data-updated-ms]').forEach((el) => window.__seen.set(
    el.getAttribute('data-task-id'), Number(el.getAttribute('data-updated-ms'))));
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target);
      for (const n of r.addedNodes || []) {
        if (n.nodeType !== 1) continue;
        if (n.hasAttribute('data-updated-ms')) note(n);
        n.querySelectorAll('[data-updated-ms]').forEach(note);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                              attributeFilter: ['data-updated-ms']});
}
"""
