// media-server search page. No framework, no inline script (the CSP forbids it); every piece of data is
// inserted with textContent or as an attribute of an element made here, never as HTML.
"use strict";

(() => {
  const DEBOUNCE_MS = 150;
  const RESULT_LIMIT = "50";
  const SOURCES_REFRESH_MS = 30000;

  const box = document.getElementById("q");
  const form = document.getElementById("search-form");
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const sourcesList = document.getElementById("sources");

  let controller = null;
  let timer = null;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A deep link is followed only when it is an http(s) URL (the server already keeps only links into the
  // source's own app); a cover only when it is the service's own /cover/ path.
  function safeLink(link) {
    if (typeof link !== "string") return null;
    try {
      const url = new URL(link);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function safeCover(path) {
    return typeof path === "string" && path.startsWith("/cover/") ? path : null;
  }

  function hitElement(hit) {
    const item = element("li", "hit");
    const link = safeLink(hit.link);
    const target = element(link ? "a" : "div", "hit-link");
    if (link) {
      target.href = link;
      target.rel = "noopener noreferrer";
    } else {
      target.tabIndex = 0;
      target.setAttribute("aria-disabled", "true");
    }
    target.dataset.source = hit.source;

    const cover = safeCover(hit.cover);
    if (cover) {
      const image = element("img", "cover");
      image.alt = "";
      image.loading = "lazy";
      image.decoding = "async";
      image.width = 48;
      image.height = 72;
      image.src = cover;
      image.addEventListener("error", () => image.replaceWith(element("span", "cover none")));
      target.append(image);
    } else {
      target.append(element("span", "cover none"));
    }

    const text = element("span", "hit-text");
    text.append(element("span", "hit-title", hit.title));
    const meta = [hit.kind_label];
    if (Array.isArray(hit.creators) && hit.creators.length) meta.push(hit.creators.join(", "));
    if (Number.isInteger(hit.year)) meta.push(String(hit.year));
    meta.push(`in ${hit.source_label}`);
    text.append(element("span", "hit-meta", meta.join(" · ")));
    target.append(text);
    item.append(target);
    return item;
  }

  function render(data) {
    results.replaceChildren();
    if (!data.count) {
      status.textContent = `No results for “${data.query}”.`;
      return;
    }
    status.textContent = `${data.count} ${data.count === 1 ? "result" : "results"} for “${data.query}”.`;
    data.groups.forEach((group, position) => {
      const section = element("section", "group");
      const heading = element("h2", null, group.label);
      heading.id = `group-${position}`;
      section.setAttribute("aria-labelledby", heading.id);
      const list = element("ul", "hits");
      group.results.forEach((hit) => list.append(hitElement(hit)));
      section.append(heading, list);
      results.append(section);
    });
  }

  async function search(query) {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    try {
      const params = new URLSearchParams({ q: query, limit: RESULT_LIMIT });
      const response = await fetch(`/api/search?${params}`, { signal, headers: { Accept: "application/json" } });
      const data = await response.json();
      if (signal.aborted) return;
      if (!response.ok) {
        results.replaceChildren();
        status.textContent = `The search was refused: ${data.error || response.status}`;
        return;
      }
      render(data);
    } catch (error) {
      if (error.name === "AbortError") return;
      status.textContent = `The search failed: ${error.message}`;
    }
  }

  function scheduleSearch(immediately) {
    clearTimeout(timer);
    const query = box.value.trim();
    const address = query ? `?${new URLSearchParams({ q: query })}` : location.pathname;
    history.replaceState(null, "", address);
    if (!query) {
      if (controller) controller.abort();
      results.replaceChildren();
      status.textContent = "";
      return;
    }
    timer = setTimeout(() => search(query), immediately ? 0 : DEBOUNCE_MS);
  }

  // ---- keyboard: "/" focuses the box, arrows move through the results, Escape comes back, Enter opens
  function targets() {
    return Array.from(results.querySelectorAll(".hit-link"));
  }

  function move(step) {
    const all = targets();
    if (!all.length) return;
    const current = all.indexOf(document.activeElement);
    if (current === -1) {
      all[step > 0 ? 0 : all.length - 1].focus();
    } else if (current + step < 0) {
      box.focus();
    } else {
      all[Math.min(current + step, all.length - 1)].focus();
    }
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    const inResults = results.contains(event.target);
    if (event.key === "ArrowDown" && (event.target === box || inResults)) {
      event.preventDefault();
      move(1);
    } else if (event.key === "ArrowUp" && inResults) {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Escape" && inResults) {
      event.preventDefault();
      box.focus();
    }
  });

  box.addEventListener("input", () => scheduleSearch(false));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    scheduleSearch(true);
  });

  // ---- the sources panel
  function ago(seconds) {
    const age = Date.now() / 1000 - seconds;
    if (age < 60) return "just now";
    if (age < 3600) return `${Math.floor(age / 60)} min ago`;
    if (age < 86400) return `${Math.floor(age / 3600)} h ago`;
    return new Date(seconds * 1000).toLocaleString();
  }

  // A reason names a stack setting between backticks: shown as code, still as text.
  function reasonNodes(reason) {
    return String(reason)
      .split("`")
      .map((piece, position) => (position % 2 ? element("code", null, piece) : document.createTextNode(piece)));
  }

  const STATES = {
    connected: "connected",
    indexing: "indexing…",
    error: "error",
    not_configured: "not connected",
    disabled: "not connected",
  };

  function sourceElement(source) {
    const item = element("li", "source");
    item.dataset.state = source.state;
    item.dataset.app = source.app;
    item.append(element("strong", "source-name", source.label));
    item.append(document.createTextNode(": "));
    item.append(element("span", "source-state", STATES[source.state] || source.state));
    if (source.reason) {
      const reason = element("span", "source-reason");
      reason.append(document.createTextNode(" — "), ...reasonNodes(source.reason));
      item.append(reason);
    }
    if (source.state !== "not_configured" && source.state !== "disabled") {
      const detail = element("span", "source-detail");
      const noun = source.documents === 1 ? "document" : "documents";
      detail.append(document.createTextNode(` · ${source.documents} ${noun} · `));
      if (typeof source.last_success === "number") {
        const when = element("time", null, `indexed ${ago(source.last_success)}`);
        when.dateTime = new Date(source.last_success * 1000).toISOString();
        when.title = when.dateTime;
        detail.append(when);
      } else {
        detail.append(document.createTextNode("not indexed yet"));
      }
      item.append(detail);
    }
    return item;
  }

  async function refreshSources() {
    try {
      const response = await fetch("/api/sources", { headers: { Accept: "application/json" } });
      const data = await response.json();
      sourcesList.replaceChildren(...data.sources.map(sourceElement));
    } catch (error) {
      sourcesList.replaceChildren(element("li", "source", `Sources unavailable: ${error.message}`));
    }
  }

  refreshSources();
  setInterval(refreshSources, SOURCES_REFRESH_MS);

  const initial = new URLSearchParams(location.search).get("q");
  if (initial) {
    box.value = initial;
    scheduleSearch(true);
  }
  box.focus();
})();
