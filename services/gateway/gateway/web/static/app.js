// The pages' own script (no libraries). Reading works without it; with it: the search
// builder grows, the detail panel edits one field at a time, and forms post JSON to
// /api/ with the page's CSRF token.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function api(method, url, body, headers) {
    var h = { "Accept": "application/json", "X-CSRF-Token": CSRF };
    if (body !== undefined) h["Content-Type"] = "application/json";
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(url, { method: method, headers: h, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (t) {
          var data = null;
          try { data = t ? JSON.parse(t) : null; } catch (e) { data = { detail: t }; }
          return { status: r.status, ok: r.ok, data: data };
        });
      });
  }

  function flatten(errors, prefix, out) {
    out = out || {};
    Object.keys(errors || {}).forEach(function (k) {
      var v = errors[k], key = prefix ? prefix + "." + k : k;
      if (Array.isArray(v)) out[key] = v.join(" ");
      else if (v && typeof v === "object") flatten(v, key, out);
      else out[key] = String(v);
    });
    return out;
  }

  function problemText(res) {
    var d = res.data || {};
    var flat = flatten(d.errors || {});
    var parts = Object.keys(flat).map(function (k) { return k + ": " + flat[k]; });
    return (d.detail || d.title || ("HTTP " + res.status)) + (parts.length ? " — " + parts.join("; ") : "");
  }

  // ---- search builder: more conditions ----
  var add = document.getElementById("add-condition");
  if (add) add.addEventListener("click", function () {
    var rows = document.querySelectorAll("#builder .condition");
    var last = rows[rows.length - 1], copy = last.cloneNode(true);
    copy.querySelectorAll("select, input").forEach(function (el) {
      if (el.tagName === "INPUT") el.value = ""; else el.selectedIndex = 0;
    });
    last.parentNode.appendChild(copy);
    copy.querySelector("select").focus();
  });

  // ---- detail panel ----
  var panel = document.getElementById("panel");
  if (panel) initPanel(panel);

  function initPanel(panel) {
    var id = panel.dataset.invoiceId, close = document.getElementById("panel-close");
    panel.focus();
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !document.querySelector(".editor")) close.click();
    });
    var tabs = panel.querySelectorAll('.tabs a[role="tab"]');
    function show(hash) {
      tabs.forEach(function (a) {
        var on = a.getAttribute("href") === hash;
        a.setAttribute("aria-selected", on ? "true" : "false");
        document.querySelector(a.getAttribute("href")).hidden = !on;
      });
    }
    tabs.forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); show(a.getAttribute("href")); });
    });
    show("#tab-details");
    var only = document.getElementById("only-filled");
    only.addEventListener("change", function () {
      document.getElementById("fields").classList.toggle("only-filled", only.checked);
      var url = new URL(location.href);
      if (only.checked) url.searchParams.set("only_filled", "1"); else url.searchParams.delete("only_filled");
      history.replaceState(null, "", url);
    });
    panel.addEventListener("click", function (e) {
      var button = e.target.closest("button.value");
      if (button) openEditor(button.closest(".field"), id);
    });
    initAttachments(panel);
  }

  function refreshPanel() {
    // Re-read the server-rendered panel (labels, names, history) after a change.
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["fields", "history", "panel-version", "attachments"].forEach(function (key) {
          var fresh = doc.getElementById(key), old = document.getElementById(key);
          if (fresh && old) old.replaceWith(fresh);
        });
        var p = doc.getElementById("panel");
        if (p) document.getElementById("panel").dataset.version = p.dataset.version;
        var only = document.getElementById("only-filled");
        document.getElementById("fields").classList.toggle("only-filled", only.checked);
      });
  }

  // ---- attachments in the panel: upload by the file input or a drop, previews, remove ----
  function initAttachments(panel) {
    var A = JSON.parse(document.getElementById("attachment-i18n").textContent);
    panel.addEventListener("click", function (e) {
      var preview = e.target.closest("a.attachment-preview");
      if (preview) { e.preventDefault(); togglePreview(preview, A); return; }
      var remove = e.target.closest("button.attachment-remove");
      if (remove) removeAttachment(remove, A);
    });
    var zone = document.getElementById("attachment-upload");
    if (!zone) return;   // not offered: void, or outside the person's edit scope
    zone.hidden = false;
    var input = document.getElementById("attachment-file");
    input.addEventListener("change", function () {
      uploadAll(zone, input.files, A).then(function () { input.value = ""; });
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("dragging");
      uploadAll(zone, (e.dataTransfer && e.dataTransfer.files) || [], A);
    });
    // a file dropped beside the zone must not replace the page with the file
    ["dragover", "drop"].forEach(function (type) {
      document.addEventListener(type, function (e) {
        if (zone.contains(e.target)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = "none";
      });
    });
  }

  function uploadAll(zone, files, A) {
    var list = Array.prototype.slice.call(files), refusals = [], uploaded = 0;
    var status = document.getElementById("attachment-status"), bar = document.getElementById("attachment-progress");
    showRefusals([]);
    var chain = Promise.resolve();
    list.forEach(function (file) {
      chain = chain.then(function () {
        if (file.size > A.max_bytes) { refusals.push(refusal(file, { status: 413, data: {} }, A)); return; }
        status.textContent = A.uploading.replace("{name}", file.name);
        return send(zone.dataset.api, file, bar).then(function (res) {
          if (res.ok) uploaded++; else refusals.push(refusal(file, res, A));
        });
      });
    });
    return chain.then(function () {
      bar.hidden = true;
      status.textContent = uploaded ? A.uploaded.replace("{count}", uploaded) : "";
      showRefusals(refusals);
      if (uploaded) return refreshPanel();
    });
  }

  function send(url, file, bar) {
    // XMLHttpRequest, not fetch: only it reports the upload's progress
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest(), data = new FormData();
      data.append("file", file, file.name);
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", CSRF);
      bar.max = file.size || 1; bar.value = 0; bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; }
      });
      xhr.addEventListener("load", function () {
        var d = null;
        try { d = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { d = { detail: xhr.responseText }; }
        resolve({ status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300, data: d });
      });
      xhr.addEventListener("error", function () { resolve({ status: 0, ok: false, data: null }); });
      xhr.send(data);
    });
  }

  function refusal(file, res, A) {
    // the page's words for what went wrong, then the service's own, naming the field
    var flat = flatten((res.data || {}).errors || {});
    var reason = res.status === 413 ? A.too_large : flat.content ? A.refused_type : A.failed;
    var detail = Object.keys(flat).map(function (k) { return k + ": " + flat[k]; }).join("; ");
    if (!detail && res.status && res.status !== 413) detail = problemText(res);
    return A.not_uploaded.replace("{name}", file.name).replace("{reason}", reason) +
      (detail ? A.detail.replace("{detail}", detail) : "");
  }

  function showRefusals(lines) {
    var box = document.getElementById("attachment-error");
    if (!box) return;
    box.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("span");
      p.className = "refusal"; p.textContent = line;
      box.appendChild(p);
    });
    box.hidden = !lines.length;
  }

  function togglePreview(link, A) {
    var item = link.closest("li"), frame = item.querySelector("iframe.attachment-frame");
    if (frame) {
      frame.remove();
      link.textContent = A.preview; link.setAttribute("aria-expanded", "false");
      return;
    }
    frame = document.createElement("iframe");
    frame.className = "attachment-frame"; frame.src = link.href; frame.title = item.dataset.filename;
    item.appendChild(frame);
    link.textContent = A.hide_preview; link.setAttribute("aria-expanded", "true");
  }

  function removeAttachment(button, A) {
    var name = button.closest("li").dataset.filename;
    if (!window.confirm(A.confirm_remove.replace("{name}", name))) return;
    button.disabled = true;
    api("DELETE", button.dataset.api).then(function (res) {
      if (res.ok) { showRefusals([]); return refreshPanel(); }
      button.disabled = false;
      showRefusals([name + ": " + problemText(res)]);
    });
  }

  function makeInput(field) {
    var kind = field.dataset.kind, value = field.dataset.value, input;
    if (kind === "select") {
      input = document.createElement("select");
      JSON.parse(field.dataset.options || "[]").forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o[0]; opt.textContent = o[1]; opt.selected = o[0] === value;
        input.appendChild(opt);
      });
    } else if (kind === "textarea") {
      input = document.createElement("textarea"); input.rows = 3; input.value = value;
    } else {
      input = document.createElement("input");
      input.type = kind === "date" ? "date" : "text";
      if (kind === "money" || kind === "number") input.inputMode = "decimal";
      input.value = value;
    }
    input.className = "edit-input";
    input.setAttribute("aria-label", field.querySelector("dt").textContent);
    return input;
  }

  function openEditor(field, id) {
    var open = document.querySelector(".editor");
    if (open) open._cancel();
    var dd = field.querySelector("dd"), button = dd.querySelector("button.value");
    var errorBox = dd.querySelector(".field-error");
    var old = dd.querySelector(".changed-meanwhile");
    if (old) old.remove();
    var editor = document.createElement("div");
    editor.className = "editor";
    var input = makeInput(field);
    var ok = document.createElement("button"); ok.type = "button"; ok.className = "ok";
    ok.textContent = "✓"; ok.title = T.save; ok.setAttribute("aria-label", T.save);
    var cancel = document.createElement("button"); cancel.type = "button"; cancel.className = "cancel";
    cancel.textContent = "✗"; cancel.title = T.cancel; cancel.setAttribute("aria-label", T.cancel);
    editor.append(input, ok, cancel);
    button.hidden = true;
    dd.insertBefore(editor, errorBox);
    input.focus();
    function done() { editor.remove(); button.hidden = false; button.focus(); }
    editor._cancel = done;
    cancel.addEventListener("click", done);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); done(); }
      if (e.key === "Enter" && input.tagName !== "TEXTAREA") { e.preventDefault(); save(); }
    });
    ok.addEventListener("click", save);

    function save() {
      var name = field.dataset.field, raw = input.value, value = raw === "" ? null : raw;
      if (value === "true") value = true; else if (value === "false") value = false;
      var body = {}; body[name] = value;
      var panel = document.getElementById("panel");
      errorBox.hidden = true; ok.disabled = true; ok.textContent = "…";
      api("PATCH", "/api/invoices/" + encodeURIComponent(id), body,
          { "If-Match": '"' + panel.dataset.version + '"' })
        .then(function (res) {
          ok.disabled = false; ok.textContent = "✓";
          if (res.ok) { editor.remove(); return refreshPanel(); }
          if (res.status === 412 || (res.status === 409 && res.data && res.data.errors &&
                                     res.data.errors.current_version !== undefined)) {
            return api("GET", "/api/invoices/" + encodeURIComponent(id)).then(function (cur) {
              var now = cur.data || {}, v = name.indexOf("custom.") === 0
                ? (now.custom || {})[name.slice(7)] : now[name];
              panel.dataset.version = now.version;
              var box = document.createElement("p");
              box.className = "changed-meanwhile"; box.setAttribute("role", "alert");
              box.textContent = T.changed_meanwhile + " " + (v === null || v === undefined ? "∅" : v) +
                                " (v" + now.version + ")";
              dd.insertBefore(box, errorBox);
              var shown = document.getElementById("panel-version");
              if (shown) shown.textContent = now.version;
            });
          }
          var flat = flatten((res.data || {}).errors || {});
          errorBox.textContent = flat[name] || Object.keys(flat).map(function (k) { return flat[k]; }).join(" ")
                                 || problemText(res);
          errorBox.hidden = false;
        });
    }
  }

  // ---- forms that post JSON to /api/ ----
  function setPath(obj, path, value) {
    var keys = path.split("."), cur = obj;
    keys.forEach(function (k, i) {
      var last = i === keys.length - 1, nextIsIndex = !last && /^\d+$/.test(keys[i + 1]);
      if (last) { cur[k] = value; return; }
      if (cur[k] === undefined) cur[k] = nextIsIndex ? [] : {};
      cur = cur[k];
    });
  }
  function prune(v) {
    if (Array.isArray(v)) { v = v.map(prune).filter(function (x) { return x !== undefined; }); return v.length ? v : undefined; }
    if (v && typeof v === "object") {
      var out = {}, any = false;
      Object.keys(v).forEach(function (k) { var p = prune(v[k]); if (p !== undefined) { out[k] = p; any = true; } });
      return any ? out : undefined;
    }
    return v;
  }
  function serialize(form) {
    var body = {}, lists = {};
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (el) {
      var name = el.name, value;
      if (el.type === "checkbox") {
        if (el.dataset.list) { lists[name] = lists[name] || []; if (el.checked) lists[name].push(el.value); return; }
        value = el.checked;
      } else {
        value = el.value.trim();
        if (el.dataset.list) value = value ? value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean) : [];
        else if (el.dataset.kind === "bool") value = value === "" ? "" : value === "true";
        if ((value === "" || (Array.isArray(value) && !value.length)) && el.dataset.optional) return;
      }
      setPath(body, name, value);
    });
    Object.keys(lists).forEach(function (k) { setPath(body, k, lists[k]); });
    var condition = body.condition;
    if (condition && !(condition[0] && condition[0].field)) delete body.condition;
    Object.keys(body).forEach(function (k) {
      if (k !== "comment" && body[k] && typeof body[k] === "object") {
        var p = prune(body[k]); if (p === undefined) delete body[k]; else body[k] = p;
      }
    });
    return body;
  }
  // ---- import page: dry run, the table, commit, progress ----
  var importBox = document.getElementById("import");
  if (importBox) initImport(importBox);

  function initImport(box) {
    var L = JSON.parse(document.getElementById("import-i18n").textContent);
    var columns = box.dataset.columns.split(","), form = document.getElementById("import-form");
    var fileInput = document.getElementById("import-file"), commitButton = document.getElementById("import-commit");
    var table = document.getElementById("import-rows"), body = table.querySelector("tbody");
    var more = document.getElementById("import-more"), errorsOnly = document.getElementById("import-errors-only");
    var errorBox = document.getElementById("import-error"), job = null, nextOffset = null;

    function upload(commit) {
      var data = new FormData();
      data.append("file", fileInput.files[0]);
      errorBox.hidden = true;
      return fetch("/api/invoices/import" + (commit ? "?commit=true" : ""), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": CSRF }
      }).then(function (r) {
        return r.json().then(function (d) { return { status: r.status, ok: r.ok, data: d }; },
                             function () { return { status: r.status, ok: false, data: {} }; });
      });
    }
    function fail(res) { errorBox.textContent = problemText(res); errorBox.hidden = false; }
    function cell(text, cls, title) {
      var td = document.createElement("td");
      td.textContent = text === undefined || text === null ? "" : text;
      if (cls) td.className = cls;
      if (title) td.title = title;
      return td;
    }
    function addRows(rows) {
      rows.forEach(function (row) {
        var tr = document.createElement("tr"), flat = flatten(row.errors || {}), values = row.values || {};
        tr.className = "row-" + row.status;
        tr.dataset.line = row.line;
        tr.appendChild(cell(row.line));
        tr.appendChild(cell(L[row.status] || row.status, "status-" + row.status));
        var shown = {};
        columns.forEach(function (name) {
          var msg = Object.keys(flat).filter(function (k) { return k === name || k.indexOf(name + ".") === 0; })
            .map(function (k) { shown[k] = true; return flat[k]; }).join(" ");
          var td = cell(values[name], msg ? "cell-error" : "", msg);
          td.dataset.field = name;
          tr.appendChild(td);
        });
        var rest = Object.keys(flat).filter(function (k) { return !shown[k]; })
          .map(function (k) { return k + ": " + flat[k]; });
        var notes = Object.keys(flat).filter(function (k) { return shown[k]; })
          .map(function (k) { return k + ": " + flat[k]; });
        tr.appendChild(cell(rest.concat(notes).join("; ") || row.message || row.invoice_id || ""));
        body.appendChild(tr);
      });
    }
    function showJob(d) {
      job = d;
      document.getElementById("import-status").hidden = false;
      document.getElementById("import-state").textContent =
        (d.commit ? L.committing : L.dry_run) + ": " + (L[d.status] || d.status);
      var s = d.summary || {};
      document.getElementById("import-counts").textContent = d.processed + " " + L.of + " " + d.total + " · " +
        ["ok", "created", "skipped", "error"].filter(function (k) { return s[k]; })
          .map(function (k) { return L[k] + " " + s[k]; }).join(" · ");
      var bar = document.getElementById("import-progress");
      bar.max = d.total || 1; bar.value = d.processed;
      var msg = document.getElementById("import-message");
      msg.textContent = d.message || ""; msg.hidden = !d.message;
    }
    function showRows(d, append) {
      if (!append) body.textContent = "";
      addRows(d.rows || []);
      table.hidden = false;
      document.getElementById("import-errors-only-label").hidden = false;
      nextOffset = d.next_offset;
      more.hidden = nextOffset === null || nextOffset === undefined;
    }
    function loadRows(offset) {
      var q = "?limit=500&offset=" + offset + (errorsOnly.checked ? "&status=error" : "");
      return api("GET", "/api/imports/" + job.id + q).then(function (res) {
        if (!res.ok) return fail(res);
        showJob(res.data);
        showRows(res.data, offset > 0);
      });
    }
    function follow(d) {
      showJob(d);
      if (d.status === "queued" || d.status === "running") {
        setTimeout(function () {
          api("GET", "/api/imports/" + d.id + "?limit=1").then(function (res) {
            if (res.ok) follow(res.data); else fail(res);
          });
        }, 1000);
        return;
      }
      loadRows(0).then(function () {
        commitButton.disabled = d.commit || !((d.summary || {}).ok > 0);
      });
    }
    function start(commit) {
      if (!fileInput.files.length) return;
      commitButton.disabled = true;
      upload(commit).then(function (res) {
        if (!res.ok) { fail(res); return; }
        if (res.status === 200) { showJob(res.data); showRows(res.data, false);
          commitButton.disabled = res.data.commit || !((res.data.summary || {}).ok > 0); }
        else follow(res.data);
      });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); start(false); });
    commitButton.addEventListener("click", function () { start(true); });
    fileInput.addEventListener("change", function () { commitButton.disabled = true; });
    errorsOnly.addEventListener("change", function () { if (job) loadRows(0); });
    more.addEventListener("click", function () { if (job && nextOffset) loadRows(nextOffset); });
  }

  document.querySelectorAll("form.api-form").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var submit = form.querySelector('button[type="submit"]');
      form.querySelectorAll(".field-error, .form-error").forEach(function (p) { p.hidden = true; });
      submit.disabled = true;
      api(form.dataset.method || "POST", form.dataset.api, serialize(form)).then(function (res) {
        submit.disabled = false;
        if (res.ok) {
          if (form.dataset.next) location.href = form.dataset.next.replace("{id}", encodeURIComponent(res.data.id));
          else location.reload();
          return;
        }
        var flat = flatten((res.data || {}).errors || {}), rest = [];
        Object.keys(flat).forEach(function (key) {
          var target = null, probe = key;
          while (probe && !target) {
            target = form.querySelector('[data-error-for="' + probe + '"]');
            probe = probe.indexOf(".") > 0 ? probe.slice(0, probe.lastIndexOf(".")) : "";
          }
          if (target) { target.textContent = flat[key]; target.hidden = false; } else rest.push(key + ": " + flat[key]);
        });
        var box = form.querySelector(".form-error");
        if (box && (rest.length || !Object.keys(flat).length)) {
          box.textContent = rest.length ? rest.join("; ") : problemText(res); box.hidden = false;
        }
      });
    });
  });
})();
