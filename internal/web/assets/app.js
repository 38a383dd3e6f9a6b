"use strict";
// The status page: fetches /api/v1/queues (or a member's history) every
// two seconds and renders it with real tables. Every value is set as text,
// never as HTML.
(function () {
  const every = 1000;
  let lastOK = 0, lastErr = "";

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  function ago(t) {
    if (!t) return "never";
    const s = Math.round((Date.now() - new Date(t).getTime()) / 1000);
    if (s < 1) return "just now";
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    if (s < 172800) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m ago";
    return Math.floor(s / 86400) + "d ago";
  }
  function dur(t) {
    const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h ? h + "h " + m + "m" : m ? m + "m " + (s % 60) + "s" : s + "s";
  }
  function clock(t) { return new Date(t).toLocaleString(); }
  function table(caption, head, rows) {
    const t = el("table", {}, el("caption", {}, caption));
    const tr = el("tr");
    head.forEach(h => tr.append(el("th", { scope: "col" }, h)));
    t.append(el("thead", {}, tr));
    const tb = el("tbody");
    rows.forEach(r => tb.append(r));
    t.append(tb);
    return el("div", { class: "scroll" }, t);
  }
  function stateCell(s) {
    if (!s) return el("td", { class: "muted" }, "unknown");
    if (!s.present) return el("td", {}, "not a member");
    const td = el("td");
    if (s.paused) {
      td.append(el("span", { class: "paused" }, "paused"));
      if (s.reason) td.append(": " + s.reason);
      if (s.paused_since) td.append(el("span", { class: "name", title: clock(s.paused_since) }, "for " + dur(s.paused_since) + " (since " + clock(s.paused_since) + ", by " + s.origin + ")"));
    } else {
      td.append(s.in_call ? "in call" : "available");
    }
    td.append(el("span", { class: "name" }, "penalty " + s.penalty));
    return td;
  }
  function peers(st) {
    const rows = (st.peers || []).map(p => el("tr", {},
      el("th", { scope: "row" }, p.name),
      el("td", { class: p.reachable ? "ok" : "bad" }, p.reachable ? "reachable" : "unreachable", p.reason ? el("span", { class: "name" }, p.reason) : ""),
      el("td", {}, String(p.undelivered), p.oldest_undelivered ? el("span", { class: "name" }, "oldest " + ago(p.oldest_undelivered)) : ""),
      el("td", {}, ago(p.last_check)),
      el("td", { class: p.queues_out_of_sync ? "bad" : "ok" }, p.queues_in_sync + " in sync, " + p.queues_out_of_sync + " not")));
    return table("Peers", ["Peer", "State", "Backlog", "Last agreement check", "Queues"], rows);
  }
  function queue(st, q) {
    const sec = el("section", { "aria-labelledby": "q-" + q.name });
    const h = el("h2", { id: "q-" + q.name }, el("a", { href: "/?" + new URLSearchParams({ queue: q.name }) }, q.name));
    const down = {};
    (st.peers || []).forEach(p => { down[p.name] = !p.reachable; });
    for (const [p, ok] of Object.entries(q.in_sync || {})) {
      if (down[p]) h.append(el("span", { class: "badge muted" }, "not compared with " + p + " (unreachable)"));
      else h.append(el("span", { class: "badge " + (ok ? "ok" : "bad") }, (ok ? "in sync with " : "differs from ") + p));
    }
    sec.append(h, el("p", { class: "muted" }, q.available + " available, " + q.paused + " paused, " + q.in_call + " in call (on " + st.node + ")"));
    const asOf = {};
    (st.peers || []).forEach(p => { if (p.state_as_of) asOf[p.name] = p.state_as_of; });
    const head = ["Member"].concat((st.nodes || []).map((n, i) => i === 0 ? n + " (this node)" : asOf[n] ? n + " (as of " + ago(asOf[n]) + ", unreachable)" : n), ["Last change"]);
    const rows = (q.members || []).map(m => {
      const tr = el("tr", { class: m.differs ? "differs" : "" });
      tr.append(el("th", { scope: "row" }, m.interface, m.name ? el("span", { class: "name" }, m.name) : "",
        m.differs ? el("span", { class: "bad name" }, "differs between nodes") : ""));
      (m.states || []).forEach(s => tr.append(stateCell(s)));
      const c = m.last_change, td = el("td");
      if (c) td.append(c.field + " " + c.old + " → " + c.new, el("span", { class: "name" }, ago(c.when) + " on " + c.origin + " (" + c.source + ")"));
      td.append(el("a", { href: m.history, class: "name" }, "history"));
      tr.append(td);
      return tr;
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: String(head.length), class: "muted" }, "no members")));
    sec.append(table("Members of " + q.name, head, rows));
    return sec;
  }
  function render(st) {
    document.getElementById("node").textContent = st.node;
    document.title = "queuesync " + st.node;
    const main = el("main", { id: "main" }, peers(st));
    if (new URLSearchParams(location.search).has("queue")) main.append(el("p", {}, el("a", { href: "/" }, "← all queues")));
    (st.queues || []).forEach(q => main.append(queue(st, q)));
    document.getElementById("main").replaceWith(main);
  }
  function renderHistory(queue, iface, cs) {
    document.title = "queuesync history " + iface;
    const rows = (cs || []).slice().reverse().map(c => el("tr", {},
      el("th", { scope: "row" }, clock(c.when)), el("td", {}, c.field), el("td", {}, c.old), el("td", {}, c.new),
      el("td", {}, c.origin), el("td", {}, c.source), el("td", {}, c.result)));
    const main = el("main", { id: "main" }, el("p", {}, el("a", { href: "/" }, "← all queues")),
      table("History of " + iface + " in " + queue + " (newest first)", ["When", "Field", "Old", "New", "Origin", "Source", "Result"], rows));
    document.getElementById("main").replaceWith(main);
  }
  function mark() {
    const u = document.getElementById("updated");
    const stale = Date.now() - lastOK > 3 * every;
    u.textContent = (lastOK ? "updated " + ago(lastOK) : "loading…") + (lastErr ? " — cannot update: " + lastErr : stale && lastOK ? " — not updating" : "");
    u.className = (stale && lastOK) || lastErr ? "stale" : "";
  }
  async function poll() {
    const params = new URLSearchParams(location.search);
    const member = location.pathname === "/member";
    const only = params.getAll("queue").map(q => "queue=" + encodeURIComponent(q)).join("&");
    const url = member ? "/api/v1/history?" + new URLSearchParams({ queue: params.get("queue") || "", interface: params.get("interface") || "" })
      : "/api/v1/queues" + (only ? "?" + only : "");
    try {
      const r = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (!r.ok) throw new Error(r.status + " " + (await r.text()));
      const data = await r.json();
      if (member) renderHistory(params.get("queue"), params.get("interface"), data); else render(data);
      lastOK = Date.now(); lastErr = "";
    } catch (e) {
      lastErr = e.message;
    }
    mark();
  }
  poll();
  setInterval(poll, every);
})();
