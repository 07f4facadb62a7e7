// The admin page: logins, the desk's lists and API tokens over /api/admin/... (JSON).
// Every refusal's reason (it starts with the field at fault) is shown as the API gave it.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const status = $("admin-status");

  async function call(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(url, init);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { ok: r.ok, status: r.status, data };
  }

  function say(r, done) {
    if (r.ok) { status.textContent = done; status.className = "admin-status good"; }
    else {
      status.textContent = "Refused: " + ((r.data && r.data.reason) || "error " + r.status);
      status.className = "admin-status bad";
    }
    return r.ok;
  }

  // "billing=3, vip=2" -> {billing: 3, vip: 2}; a value that is not a number is sent as
  // typed, so the API names it
  function pairs(text) {
    const out = {};
    for (const part of text.split(/[,\s]+/).filter(Boolean)) {
      const [k, v = ""] = part.split("=");
      out[k] = /^\d+$/.test(v) ? Number(v) : v;
    }
    return out;
  }

  function cell(row, text, testid) {
    const td = document.createElement("td");
    td.textContent = text;
    if (testid) td.dataset.testid = testid;
    row.appendChild(td);
    return td;
  }

  function button(label, testid, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "btn btn-ghost"; b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    return b;
  }

  const show = (m) => Object.entries(m || {}).map(([k, v]) => k + "=" + v).join(", ");

  async function loadLogins() {
    const r = await call("GET", "/api/admin/logins");
    if (!r.ok) return say(r, "");
    const body = $("logins");
    body.replaceChildren();
    for (const l of r.data.logins) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "login-" + l.username;
      cell(tr, l.username); cell(tr, l.name); cell(tr, l.role, "role-" + l.username);
      cell(tr, l.device || "–");
      cell(tr, l.queues.join(", ") || (l.role === "agent" ? "all" : "–"), "queues-" + l.username);
      cell(tr, show(l.skills), "skills-" + l.username);
      cell(tr, show(l.penalties), "penalties-" + l.username);
      const td = cell(tr, "");
      td.appendChild(button("Remove", "remove-" + l.username, async () => {
        if (say(await call("DELETE", "/api/admin/logins/" + encodeURIComponent(l.username)),
                "Removed " + l.username)) loadLogins();
      }));
      body.appendChild(tr);
    }
  }

  async function loadLists() {
    const r = await call("GET", "/api/desk-lists");
    if (!r.ok) return say(r, "");
    for (const [kind, key] of [["dispositions", "dispositions"], ["pause-reasons", "pause_reasons"]]) {
      const ul = $("list-" + kind);
      ul.replaceChildren();
      for (const [code, label] of Object.entries(r.data[key])) {
        const li = document.createElement("li");
        li.dataset.testid = kind + "-" + code;
        li.textContent = code + " — " + label + " ";
        li.appendChild(button("Remove", "remove-" + kind + "-" + code, async () => {
          if (say(await call("DELETE", `/api/admin/${kind}/${code}`), "Removed " + code)) loadLists();
        }));
        ul.appendChild(li);
      }
    }
  }

  async function loadTokens() {
    const r = await call("GET", "/api/admin/tokens");
    if (!r.ok) return say(r, "");
    const body = $("tokens");
    body.replaceChildren();
    for (const t of r.data.tokens) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "token-" + t.name;
      cell(tr, t.name); cell(tr, t.user); cell(tr, t.role); cell(tr, t.scopes.join(", "), "scopes-" + t.name);
      cell(tr, t.created_at.slice(0, 16).replace("T", " "));
      const td = cell(tr, t.revoked_at ? t.revoked_at.slice(0, 16).replace("T", " ") : "");
      if (!t.revoked_at) {
        td.appendChild(button("Revoke", "revoke-" + t.name, async () => {
          if (say(await call("DELETE", "/api/admin/tokens/" + encodeURIComponent(t.name)),
                  "Revoked " + t.name)) loadTokens();
        }));
      }
      body.appendChild(tr);
    }
  }

  $("add-login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { username: f.get("username").trim(), password: f.get("password"), role: f.get("role"),
                   queues: f.getAll("queues"), skills: pairs(f.get("skills")),
                   penalties: pairs(f.get("penalties")) };
    if (f.get("name").trim()) body.name = f.get("name").trim();
    if (f.get("device").trim()) body.device = f.get("device").trim();
    if (say(await call("POST", "/api/admin/logins", body), "Added " + body.username)) {
      ev.target.reset();
      loadLogins();
    }
  });

  $("change-login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const username = f.get("username").trim();
    const body = {};
    for (const k of ["name", "device", "password"]) if (f.get(k).trim()) body[k] = f.get(k).trim();
    if (f.get("role")) body.role = f.get("role");
    if (f.get("queues").trim()) body.queues = f.get("queues").split(/[,\s]+/).filter(Boolean);
    for (const k of ["skills", "penalties"]) if (f.get(k).trim()) body[k] = pairs(f.get(k));
    const r = await call("PATCH", "/api/admin/logins/" + encodeURIComponent(username), body);
    if (say(r, "Changed " + username)) { ev.target.reset(); loadLogins(); }
  });

  for (const form of document.querySelectorAll("form.list-form")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const code = f.get("code").trim();
      const r = await call("PUT", `/api/admin/${form.dataset.kind}/${encodeURIComponent(code)}`,
                           { label: f.get("label") });
      if (say(r, "Saved " + code)) { form.reset(); loadLists(); }
    });
  }

  $("add-token").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    // no scope ticked: sent empty, for the API's refusal to say so
    const r = await call("POST", "/api/admin/tokens", { name: f.get("name").trim(), user: f.get("user").trim(),
                                                        scopes: f.getAll("scopes") });
    if (say(r, "Made " + f.get("name"))) {
      $("new-token").textContent = "The token (shown only now): " + r.data.token;
      ev.target.reset();
      loadTokens();
    }
  });

  Promise.all([loadLogins(), loadLists(), loadTokens()]).then(() => {
    document.body.dataset.loaded = "yes";
  });
})();
