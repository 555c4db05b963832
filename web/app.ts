// The chat page: key, collection, uploads with progress and status polling, streamed grounded chat.
// Built by scripts/build-web.mjs into public/app.js. No framework, no inline script (strict CSP),
// and untrusted text (answers, passages, file names) only ever goes through textContent.

import { createParser } from "eventsource-parser";
import type { Citation, Claim, PublicSource as Source } from "../src/chat/source";

type Kind = "master" | "temp";
type Status = "queued" | "processing" | "ready" | "failed";

interface Doc {
  id: string;
  name: string;
  status: Status;
  error: { code: string; message: string } | null;
  chunk_count: number;
  size: number;
  pages: number | null;
  duplicate?: boolean;
}
interface Collection {
  id: string;
  name: string;
  document_count?: number;
}
interface Session {
  jwt: string;
  collection: string;
  expiresAt: number;
}
interface Turn {
  role: "user" | "assistant";
  content: string;
}

const KEY_STORE = "docchat.key";
const COL_STORE = "docchat.collection";
const PENDING = new Set<Status>(["queued", "processing"]);

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const state = {
  key: "",
  kind: null as Kind | null,
  collection: "",
  /** Bumped whenever the key or collection changes, so stale loops and responses stop. */
  gen: 0,
  session: null as Session | null,
  history: [] as Turn[],
  cursor: null as string | null,
  tracked: new Map<string, { row?: HTMLElement; status: Status }>(),
  /** The `gen` whose polling loop is running, or -1: one loop per collection at a time. */
  pollGen: -1,
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads both envelopes: `{error:{code,message}}` and the original's `{message|error, code}`. */
function errorFrom(status: number, body: unknown): HttpError {
  const b = (body ?? {}) as { error?: unknown; message?: unknown; code?: unknown };
  const e = typeof b.error === "object" && b.error ? (b.error as { code?: string; message?: string }) : null;
  const text = e?.message ?? (typeof b.error === "string" ? b.error : undefined) ?? (typeof b.message === "string" ? b.message : undefined);
  return new HttpError(status, e?.code ?? (typeof b.code === "string" ? b.code : `http_${status}`), text ?? `HTTP ${status}`);
}

async function toError(res: Response): Promise<HttpError> {
  return errorFrom(res.status, await res.json().catch(() => null));
}

function authHeaders(): Record<string, string> {
  return state.kind === "master" ? { "X-Master-API-Key": state.key } : { "X-API-Key": state.key };
}

async function api<T>(method: string, path: string, body?: unknown, headers = authHeaders()): Promise<T> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers = { ...headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) throw await toError(res);
  return (await res.json()) as T;
}

const col = (suffix = "") => `/v1/collections/${encodeURIComponent(state.collection)}${suffix}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function setStatus(text: string, bad = false): void {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("bad", bad);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

// ---- key ----------------------------------------------------------------------------------------

async function useKey(key: string): Promise<void> {
  for (const id of ["col-panel", "docs-panel", "chat-panel"]) $(id).hidden = true;
  selectCollection("");
  const gen = ++state.gen;
  state.key = key;
  state.kind = null;
  setStatus("Checking the key…");
  // Only the master key may list keys: that tells the two kinds apart without guessing from the text.
  const probe = await fetch("/v1/keys?limit=1", { headers: { "X-Master-API-Key": key } });
  if (probe.ok) state.kind = "master";
  else if (probe.status === 401) state.kind = "temp";
  else throw await toError(probe);

  let cols: Collection[];
  try {
    cols = (await api<{ collections: Collection[] }>("GET", "/v1/collections?limit=100")).collections;
  } catch (err) {
    // A key without the `read` scope can still chat: its session tells which collection it is bound to.
    if (!(err instanceof HttpError) || err.status !== 403 || state.kind !== "temp") throw err;
    const s = await startSession();
    cols = [{ id: s.collection, name: s.collection }];
  }
  if (gen !== state.gen) return;
  sessionStorage.setItem(KEY_STORE, key);
  $("key-state").textContent =
    state.kind === "master"
      ? "Master key: you can create collections. Chats are stateless (the page sends the history)."
      : "Temporary key: limited to its collection; chats run in a server-side session.";
  $("forget").hidden = false;
  $("new-col").hidden = state.kind !== "master";
  $("col-panel").hidden = false;
  fillCollections(cols, sessionStorage.getItem(COL_STORE) ?? "");
  setStatus("");
}

function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORE);
  sessionStorage.removeItem(COL_STORE);
  state.gen++;
  state.key = "";
  state.kind = null;
  ($("key") as HTMLInputElement).value = "";
  $("key-state").textContent = "Kept in this browser tab only (sessionStorage).";
  for (const id of ["forget", "col-panel", "docs-panel", "chat-panel"]) $(id).hidden = true;
  selectCollection("");
  $("key").focus();
}

// ---- collections ---------------------------------------------------------------------------------

function collectionLabel(name: string, count: number | undefined): string {
  return count === undefined ? name : `${name} (${plural(count, "document")})`;
}

function fillCollections(cols: Collection[], preferred: string): void {
  const sel = $<HTMLSelectElement>("col");
  sel.replaceChildren();
  if (cols.length === 0) {
    sel.append(new Option(state.kind === "master" ? "No collection yet: create one below" : "No collection", ""));
  }
  for (const c of cols) {
    const opt = new Option(collectionLabel(c.name, c.document_count), c.id);
    opt.dataset.name = c.name;
    sel.append(opt);
  }
  const pick = cols.some((c) => c.id === preferred) ? preferred : (cols[0]?.id ?? "");
  sel.value = pick;
  selectCollection(pick);
}

async function reloadCollections(): Promise<void> {
  const { collections } = await api<{ collections: Collection[] }>("GET", "/v1/collections?limit=100");
  fillCollections(collections, state.collection);
}

function selectCollection(id: string): void {
  if (id !== state.collection) {
    state.gen++;
    state.collection = id;
    state.tracked.clear();
    $("uploads").replaceChildren();
    resetChat();
  }
  if (id) sessionStorage.setItem(COL_STORE, id);
  $("docs-panel").hidden = !id;
  $("chat-panel").hidden = !id;
  if (id) void loadDocs().catch((err) => setStatus(message(err), true));
}

async function createCollection(name: string): Promise<void> {
  const c = await api<Collection>("POST", "/v1/collections", { name });
  const sel = $<HTMLSelectElement>("col");
  if (!sel.value) sel.replaceChildren();
  const opt = new Option(collectionLabel(c.name, 0), c.id);
  opt.dataset.name = c.name;
  sel.append(opt);
  sel.value = c.id;
  selectCollection(c.id);
  setStatus(`Created the collection “${c.name}”.`);
}

// ---- documents -----------------------------------------------------------------------------------

function badge(status: string): HTMLElement {
  return el("span", `st st-${status}`, status);
}

function docItem(d: Doc): HTMLLIElement {
  const li = el("li");
  li.dataset.id = d.id;
  li.dataset.status = d.status;
  const del = el("button", "", "Delete");
  del.type = "button";
  del.setAttribute("aria-label", `Delete ${d.name}`);
  del.addEventListener("click", () => void deleteDoc(d));
  const meta = [kb(d.size)];
  if (d.status === "ready") meta.push(plural(d.chunk_count, "passage"));
  if (d.pages) meta.push(plural(d.pages, "page"));
  const head = el("span", "name", `${d.name} `);
  head.append(badge(d.status));
  li.append(head, del, el("span", "meta", meta.join(" · ")));
  if (d.error) li.append(el("p", "err", `${d.error.message} (${d.error.code})`));
  return li;
}

async function loadDocs(more = false): Promise<void> {
  const gen = state.gen;
  const q = new URLSearchParams({ limit: "100" });
  if (more && state.cursor) q.set("cursor", state.cursor);
  const page = await api<{ documents: Doc[]; next_cursor: string | null; counts: Record<string, number> }>("GET", col(`/documents?${q}`));
  if (gen !== state.gen) return;
  const list = $("doc-list");
  if (!more) list.replaceChildren();
  for (const d of page.documents) {
    list.append(docItem(d));
    if (PENDING.has(d.status) && !state.tracked.has(d.id)) state.tracked.set(d.id, { status: d.status });
  }
  if (!list.firstChild) list.append(el("li", "hint", "No documents yet."));
  state.cursor = page.next_cursor;
  $("more-docs").hidden = !page.next_cursor;
  $("doc-counts").textContent = Object.entries(page.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  const opt = $<HTMLSelectElement>("col").selectedOptions[0];
  const total = Object.values(page.counts).reduce((a, b) => a + b, 0);
  if (opt?.dataset.name) opt.text = collectionLabel(opt.dataset.name, total);
  void pollPending();
}

async function deleteDoc(d: Doc): Promise<void> {
  if (!confirm(`Delete “${d.name}” from the collection?`)) return;
  try {
    await api("DELETE", col(`/documents/${encodeURIComponent(d.id)}`));
    state.tracked.delete(d.id);
    setStatus(`Deleted “${d.name}”.`);
    await loadDocs();
  } catch (err) {
    setStatus(`Could not delete “${d.name}”: ${message(err)}`, true);
  }
}

function uploadRow(file: File): {
  li: HTMLLIElement;
  bar: HTMLProgressElement;
  set: (status: string, detail?: string, bad?: boolean) => void;
} {
  const li = el("li");
  const name = el("span", "name", `${file.name} `);
  const st = badge("uploading");
  name.append(st);
  const bar = el("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const detail = el("span", "meta", kb(file.size));
  li.append(name, el("span"), bar, detail);
  $("uploads").prepend(li);
  const set = (status: string, text?: string, bad = false) => {
    st.className = `st st-${status}`;
    st.textContent = status;
    if (text !== undefined) {
      detail.textContent = text;
      detail.className = bad ? "err" : "meta";
    }
  };
  return { li, bar, set };
}

/** One XHR per file: fetch() cannot report upload progress. */
function uploadOne(file: File, gen: number): Promise<void> {
  const row = uploadRow(file);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", col("/documents"));
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) row.bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", () => {
      row.bar.remove();
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: reported below with the status */
      }
      if (xhr.status !== 202) {
        const err = errorFrom(xhr.status, body);
        row.set("rejected", `${err.message} (${err.code})`, true);
        return resolve();
      }
      const doc = (body as { documents: Doc[] }).documents[0];
      row.li.dataset.id = doc.id;
      row.set(doc.status, doc.duplicate ? "Already in the collection (same bytes)." : "Uploaded; indexing in the background…");
      if (gen === state.gen && PENDING.has(doc.status)) state.tracked.set(doc.id, { row: row.li, status: doc.status });
      resolve();
    });
    xhr.addEventListener("error", () => {
      row.bar.remove();
      row.set("rejected", "Network error during the upload.", true);
      resolve();
    });
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

async function uploadFiles(files: File[]): Promise<void> {
  if (!state.collection || files.length === 0) return;
  const gen = state.gen;
  const queue = [...files];
  setStatus(`Uploading ${files.length} file${files.length === 1 ? "" : "s"}…`);
  // Three at a time: enough to fill the pipe, few enough to keep each progress bar meaningful.
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await uploadOne(f, gen);
  };
  await Promise.all([worker(), worker(), worker()]);
  if (gen !== state.gen) return;
  setStatus("Uploads finished; documents are being indexed.");
  await loadDocs();
}

/** Polls every document still queued or processing until it is ready or failed. */
async function pollPending(): Promise<void> {
  if (state.pollGen === state.gen) return;
  const gen = state.gen;
  state.pollGen = gen;
  try {
    let delay = 700;
    while (gen === state.gen && [...state.tracked.values()].some((t) => PENDING.has(t.status))) {
      await sleep(delay);
      delay = Math.min(delay * 1.4, 4000);
      if (gen !== state.gen) return;
      let changed = false;
      for (const [id, t] of state.tracked) {
        if (!PENDING.has(t.status)) continue;
        let d: Doc;
        try {
          d = await api<Doc>("GET", col(`/documents/${encodeURIComponent(id)}`));
        } catch (err) {
          if (err instanceof HttpError && err.status === 404) state.tracked.delete(id);
          continue;
        }
        if (gen !== state.gen) return;
        if (d.status === t.status) continue;
        changed = true;
        t.status = d.status;
        const row = t.row?.querySelector(".st");
        if (row && t.row) {
          row.className = `st st-${d.status}`;
          row.textContent = d.status;
          const detail = t.row.querySelector(".meta, .err");
          if (detail && d.status === "ready") detail.textContent = `Ready: ${plural(d.chunk_count, "passage")}.`;
          if (detail && d.status === "failed") {
            detail.textContent = d.error ? `${d.error.message} (${d.error.code})` : "Indexing failed.";
            detail.className = "err";
          }
        }
        if (d.status === "ready") setStatus(`“${d.name}” is ready.`);
        if (d.status === "failed") setStatus(`“${d.name}” failed: ${d.error?.message ?? "unknown reason"}`, true);
      }
      if (changed) {
        delay = 700;
        await loadDocs().catch(() => undefined);
      }
    }
  } finally {
    if (state.pollGen === gen) state.pollGen = -1;
  }
}

// ---- chat ----------------------------------------------------------------------------------------

function resetChat(): void {
  state.session = null;
  state.history = [];
  $("log").replaceChildren();
}

async function startSession(): Promise<Session> {
  const r = await api<{ jwt_token: string; collection_id: string | null; expires_at: string }>("POST", "/api/start_chat", undefined, {
    "X-API-Key": state.key,
  });
  if (!r.collection_id) throw new Error("This key is not bound to a collection.");
  state.session = { jwt: r.jwt_token, collection: r.collection_id, expiresAt: Date.parse(r.expires_at) };
  return state.session;
}

/**
 * A temporary key chats through a session (its history lives on the server); the master key cannot
 * start one, so it chats statelessly and sends the recent turns itself.
 */
async function openChat(query: string, retried = false): Promise<Response> {
  let headers: Record<string, string>;
  let body: Record<string, unknown>;
  if (state.kind === "master") {
    headers = { "X-Master-API-Key": state.key };
    const messages = [...state.history.slice(-10), { role: "user", content: query }]
      .filter((m) => m.content.trim())
      .map((m) => ({ role: m.role, content: m.content.slice(0, 8000) }));
    body = { messages, collection_id: state.collection, stream: true, top_k: 5 };
  } else {
    let s = state.session;
    if (!s || s.collection !== state.collection || s.expiresAt - Date.now() < 30_000) s = await startSession();
    headers = { Authorization: `Bearer ${s.jwt}` };
    body = { query, stream: true, top_k: 5 };
  }
  const res = await fetch("/v1/chat", {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  if (res.status === 401 && state.kind === "temp" && !retried) {
    // The session ended (expired, or its object was reset): start a fresh one once.
    state.session = null;
    return openChat(query, true);
  }
  if (!res.ok) throw await toError(res);
  return res;
}

/** Server-sent events over fetch (a POST body rules out EventSource), parsed by `eventsource-parser`. */
async function readEvents(res: Response, on: (event: string, data: string) => void): Promise<void> {
  if (!res.body) throw new Error("The response has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = createParser({ onEvent: (e) => on(e.event ?? "message", e.data) });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  parser.feed("\n\n"); // a last event without its blank line still counts
}

function describe(s: Source): string {
  return [s.heading, s.page !== null ? `page ${s.page}` : "", `passage ${s.chunk + 1}`, `score ${s.score.toFixed(3)}`]
    .filter(Boolean)
    .join(" · ");
}

/** Shows a source; with a citation, its supporting span is highlighted (text nodes only: the passage is untrusted). */
function openSource(s: Source, cit?: Citation): void {
  $("src-title").textContent = `[${s.n}] ${s.document_name}`;
  $("src-meta").textContent = describe(s);
  const box = $("src-text");
  if (cit && s.text.slice(cit.start, cit.end) === cit.quote) {
    const mark = el("mark", "span", cit.quote);
    mark.title = `support ${cit.support.toFixed(2)}`;
    box.replaceChildren(s.text.slice(0, cit.start), mark, s.text.slice(cit.end));
    requestAnimationFrame(() => mark.scrollIntoView({ block: "center" }));
  } else box.textContent = s.text;
  const back = document.activeElement as HTMLElement | null;
  const dlg = $<HTMLDialogElement>("source");
  dlg.addEventListener("close", () => back?.focus(), { once: true });
  dlg.showModal();
}

function citeButton(s: Source, cit?: Citation): HTMLButtonElement {
  const b = el("button", "cite", `${s.n}`);
  b.type = "button";
  b.setAttribute("aria-label", `Source ${s.n}: ${s.document_name}${s.page !== null ? `, page ${s.page}` : ""}`);
  b.addEventListener("click", () => openSource(s, cit));
  return b;
}

/**
 * Renders the answer as text, turning each `[n]` (or `[n, m]`) that names a known source into
 * buttons; a marker inside a claim opens its source with the claim's verified span highlighted.
 */
function renderAnswer(target: HTMLElement, text: string, sources: Map<number, Source>, claims: Claim[] = []): void {
  target.replaceChildren();
  const re = /\[(\d+(?:\s*,\s*\d+)*)\]/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const found = m[1].split(",").map((n) => sources.get(Number(n.trim())));
    if (found.some((s) => !s)) continue;
    const at = m.index;
    const claim = claims.find((c) => c.start <= at && at < c.end);
    const spanOf = (s: Source) => claim?.citations.find((c) => c.source === s.n);
    target.append(text.slice(last, m.index), ...found.map((s) => citeButton(s as Source, spanOf(s as Source))));
    last = re.lastIndex;
  }
  target.append(text.slice(last));
}

function renderSources(target: HTMLElement, sources: Source[]): void {
  if (sources.length === 0) return;
  const d = el("details", "srcs");
  d.append(el("summary", "", `Sources (${sources.length})`));
  const ol = el("ol");
  for (const s of sources) {
    const b = el("button", "", `${s.document_name}${s.page !== null ? `, page ${s.page}` : ""}${s.heading ? `: ${s.heading}` : ""}`);
    b.type = "button";
    b.addEventListener("click", () => openSource(s));
    const li = el("li");
    li.value = s.n;
    li.append(b);
    ol.append(li);
  }
  d.append(ol);
  target.append(d);
}

async function ask(query: string): Promise<void> {
  const log = $("log");
  const gen = state.gen;
  const me = el("div", "msg me");
  me.append(el("span", "sr-only", "You: "), el("span", "text", query));
  const bot = el("div", "msg bot");
  const text = el("div", "text");
  bot.append(el("span", "sr-only", "Answer: "), text);
  bot.setAttribute("aria-busy", "true");
  log.append(me, bot);
  log.scrollTop = log.scrollHeight;
  // The live region stays quiet while tokens arrive and reads the answer once it is complete.
  log.setAttribute("aria-busy", "true");
  $<HTMLButtonElement>("send").disabled = true;
  const sources = new Map<number, Source>();
  let claims: Claim[] = [];
  let answer = "";
  let frame = 0;
  const paint = () => {
    frame = 0;
    renderAnswer(text, answer, sources, claims);
    log.scrollTop = log.scrollHeight;
  };
  try {
    const res = await openChat(query);
    let finished = false;
    await readEvents(res, (event, data) => {
      const payload = JSON.parse(data);
      if (event === "sources") for (const s of payload.sources as Source[]) sources.set(s.n, s);
      else if (event === "delta") {
        answer += payload.text as string;
        frame ||= requestAnimationFrame(paint);
      } else if (event === "claims") {
        claims = claims.concat(payload.claims as Claim[]);
        frame ||= requestAnimationFrame(paint);
      } else if (event === "done") {
        answer = payload.answer as string;
        claims = payload.claims as Claim[];
        finished = true;
      } else if (event === "error") throw errorFrom(0, payload);
    });
    if (!finished) throw new Error("The answer stream ended early.");
    cancelAnimationFrame(frame);
    paint();
    renderSources(bot, [...sources.values()]);
    if (gen === state.gen) state.history.push({ role: "user", content: query }, { role: "assistant", content: answer });
  } catch (err) {
    cancelAnimationFrame(frame);
    if (answer) paint();
    const e = el("p", "err", `Could not answer: ${message(err)}`);
    e.setAttribute("role", "alert");
    bot.append(e);
  } finally {
    bot.setAttribute("aria-busy", "false");
    log.setAttribute("aria-busy", "false");
    $<HTMLButtonElement>("send").disabled = false;
    log.scrollTop = log.scrollHeight;
  }
}

// ---- wiring ----------------------------------------------------------------------------------------

function guard(fn: () => Promise<void>): void {
  fn().catch((err) => setStatus(message(err), true));
}

function init(): void {
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $<HTMLInputElement>("key").value.trim();
    if (key) guard(() => useKey(key));
  });
  $("forget").addEventListener("click", forgetKey);
  $("col").addEventListener("change", (e) => selectCollection((e.target as HTMLSelectElement).value));
  $("col-refresh").addEventListener("click", () => guard(reloadCollections));
  $("new-col").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("col-name");
    const name = input.value.trim();
    if (name)
      guard(async () => {
        await createCollection(name);
        input.value = "";
      });
  });

  const files = $<HTMLInputElement>("files");
  $("pick").addEventListener("click", () => files.click());
  files.addEventListener("change", () => {
    const list = [...(files.files ?? [])];
    files.value = "";
    guard(() => uploadFiles(list));
  });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    guard(() => uploadFiles([...((e as DragEvent).dataTransfer?.files ?? [])]));
  });
  $("more-docs").addEventListener("click", () => guard(() => loadDocs(true)));

  const q = $<HTMLTextAreaElement>("q");
  const form = $<HTMLFormElement>("ask");
  q.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const query = q.value.trim();
    if (!query || $<HTMLButtonElement>("send").disabled) return;
    q.value = "";
    void ask(query);
  });
  $("new-chat").addEventListener("click", () => {
    resetChat();
    q.focus();
  });

  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) {
    $<HTMLInputElement>("key").value = saved;
    guard(() => useKey(saved));
  }
}

init();
