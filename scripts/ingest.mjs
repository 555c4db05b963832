#!/usr/bin/env node
// `npm run ingest -- <dir> [--collection ID] [--url URL] [--key KEY] [--concurrency 4] [--timeout 900]`
//
// The original's get_documents(directory), against the HTTP API: walks <dir> recursively (dotfiles
// and dot-folders skipped), uploads each file as a multipart `file` part, waits until every
// accepted document is ready or failed, and prints each file's outcome and a summary.
// Without --collection a collection named after the folder is created (this needs the master key).
// Key: --key, else $DOCCHAT_API_KEY, else $MASTER_API_KEY, else MASTER_API_KEY from .dev.vars (cwd,
// then the repo). URL: --url, else $DOCCHAT_URL, else http://127.0.0.1:8787.
// Exit status: 0 when every file is ready; 1 when any file failed, was rejected or did not finish;
// 2 on a usage or connection error.
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const USAGE = "usage: npm run ingest -- <dir> [--collection ID] [--url URL] [--key KEY] [--concurrency 4] [--timeout 900]";
// The server's own limit is MAX_UPLOAD_BYTES (25 MiB by default, 100 MiB at most): never read more.
const MAX_CLIENT_BYTES = 100 * 1024 * 1024;
const TYPES = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  html: "text/html",
  htm: "text/html",
  xhtml: "application/xhtml+xml",
  md: "text/markdown",
  markdown: "text/markdown",
  txt: "text/plain",
  text: "text/plain",
  log: "text/plain",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  json: "application/json",
  jsonl: "application/x-ndjson",
  ndjson: "application/x-ndjson",
};

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") out.help = true;
    else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[a.slice(2)] = argv[++i];
      else out[a.slice(2)] = true;
    } else out._.push(a);
  }
  return out;
}

/** Which key to use and how to send it: a key known to be the master key goes in X-Master-API-Key. */
function resolveKey(args) {
  if (typeof args.key === "string") return { key: args.key, header: "bearer", source: "--key" };
  if (process.env.DOCCHAT_API_KEY) return { key: process.env.DOCCHAT_API_KEY, header: "bearer", source: "DOCCHAT_API_KEY" };
  if (process.env.MASTER_API_KEY) return { key: process.env.MASTER_API_KEY, header: "master", source: "MASTER_API_KEY" };
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  for (const dir of [process.cwd(), repo]) {
    const file = path.join(dir, ".dev.vars");
    if (!existsSync(file)) continue;
    const m = /^\s*MASTER_API_KEY\s*=\s*"?([^"\n]+?)"?\s*$/m.exec(readFileSync(file, "utf8"));
    if (m) return { key: m[1], header: "master", source: path.relative(process.cwd(), file) || ".dev.vars" };
  }
  return null;
}

async function walk(root) {
  const out = [];
  const visit = async (dir) => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await visit(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await visit(root);
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function client(base, auth) {
  const authHeaders = auth.header === "master" ? { "X-Master-API-Key": auth.key } : { Authorization: `Bearer ${auth.key}` };
  /** JSON request; network errors, 429 and 502-504 are retried with backoff. */
  return async function call(method, pathname, { json, form } = {}) {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(base + pathname, {
          method,
          headers: { ...authHeaders, ...(json !== undefined ? { "Content-Type": "application/json" } : {}) },
          body: json !== undefined ? JSON.stringify(json) : form,
          signal: AbortSignal.timeout(300_000),
        });
      } catch (err) {
        if (attempt < 4) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        throw new ApiFailure(0, "network_error", `${method} ${base}${pathname}: ${err.cause?.code ?? err.message}`);
      }
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = { error: { code: `http_${res.status}`, message: text.slice(0, 200) } };
      }
      if (res.ok) return body;
      if ([429, 502, 503, 504].includes(res.status) && attempt < 4) {
        const retryAfter = Number(res.headers.get("retry-after"));
        await sleep(retryAfter > 0 ? retryAfter * 1000 : 500 * 2 ** attempt);
        continue;
      }
      const e = body?.error ?? {};
      throw new ApiFailure(res.status, e.code ?? `http_${res.status}`, e.message ?? body?.message ?? `HTTP ${res.status}`);
    }
  };
}

/** One line on a TTY (redrawn), or plain lines otherwise. */
function reporter() {
  const tty = process.stderr.isTTY;
  let last = "";
  return {
    tty,
    bar(done, total, label) {
      if (!tty) return;
      const width = 28;
      const filled = total ? Math.round((done / total) * width) : width;
      last = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${label}`;
      process.stderr.write(`\r\x1b[2K${last}`);
    },
    line(text) {
      if (tty && last) process.stderr.write("\r\x1b[2K");
      process.stderr.write(`${text}\n`);
      if (tty && last) process.stderr.write(last);
    },
    clear() {
      if (tty && last) process.stderr.write("\r\x1b[2K");
      last = "";
    },
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = args._[0];
  if (!dir) {
    console.error(USAGE);
    return 2;
  }
  const root = path.resolve(dir);
  if (!existsSync(root) || !(await stat(root)).isDirectory()) {
    console.error(`ingest: ${dir} is not a directory`);
    return 2;
  }
  const auth = resolveKey(args);
  if (!auth) {
    console.error("ingest: no API key: pass --key, set DOCCHAT_API_KEY or MASTER_API_KEY, or run `npm run dev` once to create .dev.vars");
    return 2;
  }
  const base = String(args.url ?? process.env.DOCCHAT_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const concurrency = Math.max(1, Number(args.concurrency ?? 4));
  const timeoutS = Number(args.timeout ?? 900);
  const call = client(base, auth);
  const out = reporter();

  const files = await walk(root);
  if (files.length === 0) {
    console.error(`ingest: no files in ${dir} (dotfiles are skipped)`);
    return 1;
  }

  let collectionId = typeof args.collection === "string" ? args.collection : null;
  try {
    if (collectionId) {
      await call("GET", `/v1/collections/${encodeURIComponent(collectionId)}`);
    } else {
      const name = path.basename(root).slice(0, 200) || "documents";
      const col = await call("POST", "/v1/collections", { json: { name } });
      collectionId = col.id;
      out.line(`created collection ${col.id} "${name}"`);
    }
  } catch (err) {
    const hint = err.code === "invalid_master_key" || err.code === "unauthorized" ? " (creating a collection needs the master key)" : "";
    console.error(`ingest: ${err.code}: ${err.message}${hint}`);
    return 2;
  }

  // Upload: one file per request, so each file's rejection comes back with its own code.
  const t0 = Date.now();
  const results = files.map((f) => ({ file: path.relative(root, f), state: "pending" }));
  let next = 0;
  let uploaded = 0;
  const uploadOne = async (r, full) => {
    const size = (await stat(full)).size;
    if (size > MAX_CLIENT_BYTES) {
      Object.assign(r, { state: "rejected", code: "payload_too_large", message: `${size} bytes is more than any server accepts` });
      return;
    }
    const ext = path.extname(full).slice(1).toLowerCase();
    const form = new FormData();
    form.append("file", new Blob([await readFile(full)], { type: TYPES[ext] ?? "application/octet-stream" }), r.file);
    try {
      const res = await call("POST", `/v1/collections/${encodeURIComponent(collectionId)}/documents`, { form });
      const doc = res.documents?.[0];
      const rejected = res.errors?.[0];
      if (doc) {
        Object.assign(r, {
          state: doc.status,
          id: doc.id,
          duplicate: doc.duplicate,
          sameAs: doc.name,
          chunks: doc.chunk_count,
          error: doc.error,
        });
      } else if (rejected) Object.assign(r, { state: "rejected", code: rejected.error?.code, message: rejected.error?.message });
      else Object.assign(r, { state: "rejected", code: "unknown", message: "the server accepted nothing and named no error" });
    } catch (err) {
      if (err.status >= 400 && err.status < 500 && err.status !== 401) {
        Object.assign(r, { state: "rejected", code: err.code, message: err.message });
      } else throw err;
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, files.length) }, async () => {
        while (next < files.length) {
          const i = next++;
          await uploadOne(results[i], files[i]);
          uploaded++;
          const r = results[i];
          if (!out.tty)
            out.line(
              `uploaded ${r.file}: ${r.state === "rejected" ? `rejected ${r.code}` : r.duplicate ? `same bytes as "${r.sameAs}"` : r.state}`,
            );
          out.bar(uploaded, files.length, "uploaded");
        }
      }),
    );
  } catch (err) {
    out.clear();
    console.error(`ingest: upload stopped: ${err.code}: ${err.message}`);
    return 2;
  }
  out.clear();

  // Wait: the collection's counts are cheap; single documents are asked for when the collection
  // has nothing pending (all ours are done) or every few rounds (others may keep it busy).
  const pending = () => results.filter((r) => r.state === "queued" || r.state === "processing");
  const accepted = results.filter((r) => r.id).length;
  const settledCount = () => results.filter((r) => r.id && (r.state === "ready" || r.state === "failed")).length;
  let round = 0;
  while (pending().length > 0 && Date.now() - t0 < timeoutS * 1000) {
    round++;
    let collectionIdle = false;
    try {
      const page = await call("GET", `/v1/collections/${encodeURIComponent(collectionId)}/documents?limit=1`);
      const c = page.counts ?? {};
      collectionIdle = (c.queued ?? 0) + (c.processing ?? 0) === 0;
    } catch {
      // fall back to asking each document
    }
    if (collectionIdle || round % 5 === 0) {
      const todo = pending();
      let k = 0;
      await Promise.all(
        Array.from({ length: Math.min(8, todo.length) }, async () => {
          while (k < todo.length) {
            const r = todo[k++];
            try {
              const d = await call("GET", `/v1/collections/${encodeURIComponent(collectionId)}/documents/${encodeURIComponent(r.id)}`);
              const was = r.state;
              Object.assign(r, { state: d.status, chunks: d.chunk_count, error: d.error });
              if (!out.tty && was !== r.state && (r.state === "ready" || r.state === "failed")) out.line(`${r.state} ${r.file}`);
            } catch {
              // try again next round
            }
          }
        }),
      );
    }
    out.bar(settledCount(), accepted, "indexed");
    if (pending().length > 0) await sleep(1000);
  }
  out.clear();

  // Report.
  const counts = { ready: 0, failed: 0, rejected: 0, unfinished: 0 };
  let chunks = 0;
  for (const r of results) {
    if (r.state === "ready") {
      counts.ready++;
      chunks += r.chunks ?? 0;
      console.log(
        `ready     ${r.file}  (${r.chunks} chunk${r.chunks === 1 ? "" : "s"}${r.duplicate ? `, same bytes as "${r.sameAs}" already in the collection` : ""})`,
      );
    } else if (r.state === "failed") {
      counts.failed++;
      console.log(`failed    ${r.file}  ${r.error?.code ?? "unknown"}: ${r.error?.message ?? ""}`);
    } else if (r.state === "rejected") {
      counts.rejected++;
      console.log(`rejected  ${r.file}  ${r.code}: ${r.message ?? ""}`);
    } else {
      counts.unfinished++;
      console.log(`${r.state.padEnd(9)} ${r.file}  (not finished after ${timeoutS} s)`);
    }
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(
    `\n${files.length} files -> collection ${collectionId}: ${counts.ready} ready (${chunks} chunks), ${counts.failed} failed, ` +
      `${counts.rejected} rejected${counts.unfinished ? `, ${counts.unfinished} unfinished` : ""} in ${secs} s`,
  );
  return counts.failed + counts.rejected + counts.unfinished > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`ingest: ${err.stack ?? err}`);
    process.exit(2);
  },
);
