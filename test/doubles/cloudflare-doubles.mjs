// Doubles of the Cloudflare services that have no local simulator (Workers AI, Vectorize), run as
// their own worker in the test pool and reached over RPC as service bindings (TEST_AI ->
// AiDouble, TEST_VECTORIZE -> VectorizeDouble). They follow the documented contracts, shapes,
// limits and errors, so that code passing against them can run against the real services:
//
// Workers AI (`run(model, inputs, options)`):
//   @cf/baai/bge-base-en-v1.5  {text: string | string[] (1..100 items, each non-empty), pooling?: "mean" | "cls"}
//                              -> {shape: [n, 768], data: number[][], pooling}. Deterministic
//                              pseudo-embeddings from hashed words and character trigrams, so texts
//                              sharing words are close; "mean" and "cls" give incompatible spaces,
//                              as on the real model; vectors are deliberately not unit length.
//   @cf/baai/bge-m3            {text: string | string[] (1..100 items, each non-empty), truncate_inputs?: boolean}
//                              -> {shape: [n, 1024], data: number[][], pooling: "cls"}; a space of its
//                              own (a different seed), and no `pooling` input (not in the model's schema).
//   @cf/baai/bge-reranker-base {query, contexts: [{text}], top_k?} -> {response: [{id, score}]}, best first.
//   text generation            {messages: [{role, content}] | prompt, max_tokens?, stream?, ...}
//                              -> {response, usage} or, with stream: true, a byte ReadableStream of
//                              SSE events `data: {"response":"..."}` ending with `data: [DONE]`.
//                              With numbered sources (`[n] (name) text` lines) in the prompt it
//                              quotes the first sentence of the source that best overlaps the
//                              question and cites it `[n]`; without sources it answers the no-answer
//                              sentence. A system prompt asking for a "standalone question" gets a
//                              rewrite: the previous user question joined to the follow-up.
//                              When the system prompt asks for "Quotes:", the answer is followed by
//                              a quotes block: one right quote, one no source holds, and (with
//                              several sources) one attributed to the wrong source.
//                              Deprecated (2026-05-30) and unknown model ids throw.
//   Magic words in the last user message / text / query: "__fail__" throws like an upstream
//   error, "__slow__" answers after 1.5 s, "__stall__" (streams) stalls after the first event,
//   "__invent__" adds a sentence no source supports after the answer, "__ungrounded__" answers with
//   that sentence alone.
//
// Vectorize (V2 index, cosine), two indexes with their own state in memory for the life of the pool:
//   VectorizeDouble at 768 dimensions (bge-base-en-v1.5), VectorizeM3Double at 1024 (bge-m3); each
//   refuses vectors of any other dimension, as a real index does.
//   upsert/insert (1..1000 vectors a call, ids 1..64 bytes, namespace <= 64 bytes, metadata <= 10 KiB,
//   exact dimensions) -> {mutationId}; query(vector, {topK = 5, namespace, returnValues,
//   returnMetadata: "none" | "indexed" | "all", filter}) with topK <= 100, or <= 20 with values or
//   all metadata -> {count, matches: [{id, score, namespace?, values?, metadata?}]}; queryById;
//   getByIds; deleteByIds; describe(). Ids are unique across the whole index (a namespace is an
//   attribute of a vector), as the id-only getByIds/deleteByIds imply. Unlike the real service,
//   mutations are visible at once (Vectorize applies them asynchronously, seconds later).
//
// Test-only helpers (not part of the real binding): AiDouble.recorded(marker) returns the calls
// whose inputs contain `marker`. An embedding text containing "__hold_<token>__" parks the call
// until AiDouble.release(token); AiDouble.parked(token) tells whether such a call is waiting (so a
// test can observe what the caller does meanwhile). The index is shared by every test file of a run: tests isolate
// themselves with unique namespaces and ids, never by clearing it.

import { WorkerEntrypoint } from "cloudflare:workers";

const DIMENSIONS = 768;
const M3_DIMENSIONS = 1024;
const EMBED_MAX_BATCH = 100;
const UPSERT_MAX = 1000;
const TOPK_MAX = 100;
const TOPK_MAX_WITH_DATA = 20;
const ID_MAX_BYTES = 64;
const NAMESPACE_MAX_BYTES = 64;
const METADATA_MAX_BYTES = 10 * 1024;
const NO_ANSWER = "I couldn't find an answer to that in the provided documents.";

const TEXT_MODELS = new Set([
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
  "@cf/meta/llama-3.1-8b-instruct-fast",
  "@cf/meta/llama-3.1-8b-instruct-fp8",
  "@cf/meta/llama-3.2-1b-instruct",
  "@cf/meta/llama-3.2-3b-instruct",
  "@cf/meta/llama-4-scout-17b-16e-instruct",
  "@cf/zai-org/glm-4.7-flash",
  "@cf/google/gemma-4-26b-a4b-it",
  "@cf/moonshotai/kimi-k2.6",
  "@cf/openai/gpt-oss-120b",
  "@cf/openai/gpt-oss-20b",
  "@cf/nvidia/nemotron-3-120b-a12b",
  "@cf/mistralai/mistral-small-3.1-24b-instruct",
  "@cf/qwen/qwen3-30b-a3b-fp8",
  "@cf/ibm-granite/granite-4.0-h-micro",
]);

// developers.cloudflare.com/changelog: "Planned model deprecations on Workers AI" (2026-05-08).
const DEPRECATED_MODELS = new Set([
  "@cf/moonshotai/kimi-k2.5",
  "@hf/meta-llama/meta-llama-3-8b-instruct",
  "@cf/meta/llama-3-8b-instruct",
  "@cf/meta/llama-3-8b-instruct-awq",
  "@cf/meta/llama-3.1-8b-instruct",
  "@cf/meta/llama-3.1-8b-instruct-awq",
  "@cf/meta/llama-3.1-70b-instruct",
  "@cf/meta/llama-2-7b-chat-int8",
  "@cf/meta/llama-2-7b-chat-fp16",
  "@cf/mistral/mistral-7b-instruct-v0.1",
  "@hf/mistral/mistral-7b-instruct-v0.2",
  "@hf/google/gemma-7b-it",
  "@cf/google/gemma-3-12b-it",
  "@hf/nousresearch/hermes-2-pro-mistral-7b",
  "@cf/microsoft/phi-2",
  "@cf/defog/sqlcoder-7b-2",
  "@cf/unum/uform-gen2-qwen-500m",
  "@cf/facebook/bart-large-cnn",
]);

const STOP = new Set(
  "a an and are as at be by for from has have how i in is it its of on or that the this to was what when where which who why will with you your do does did can".split(
    " ",
  ),
);

const encoder = new TextEncoder();
const bytes = (s) => encoder.encode(s).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function aiError(code, message) {
  return new Error(`AiError: ${code}: ${message}`);
}
function vectorizeError(op, message) {
  return new Error(`VECTOR_${op}_ERROR (code = 40000): ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Text features shared by the pseudo-models

function words(text) {
  const out = [];
  for (const m of String(text)
    .toLowerCase()
    .matchAll(/[\p{L}\p{N}]+/gu)) {
    let w = m[0];
    if (STOP.has(w)) continue;
    if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

function fnv1a(s, seed) {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pseudoEmbedding(text, pooling, dims = DIMENSIONS, modelSeed = 0) {
  const seed = (pooling === "cls" ? 0x5bd1e995 : 0x27d4eb2d) ^ modelSeed;
  const v = new Array(dims).fill(0);
  const add = (feature, weight) => {
    const h = fnv1a(feature, seed);
    v[h % dims] += (h & 0x80000000 ? -1 : 1) * weight;
  };
  const ws = words(text);
  for (const w of ws) {
    add(`w:${w}`, 1);
    const padded = `^${w}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`g:${padded.slice(i, i + 3)}`, 0.25);
  }
  if (ws.length === 0) add(`raw:${text}`, 1);
  // Not unit length, and a small shared component, like real embeddings: callers must normalise.
  for (let i = 0; i < dims; i++) v[i] = v[i] * 2.5 + 0.01;
  return v;
}

function overlap(a, b) {
  const A = new Set(words(a));
  if (A.size === 0) return 0;
  let n = 0;
  for (const w of new Set(words(b))) if (A.has(w)) n++;
  return n / A.size;
}

// ---------------------------------------------------------------------------------------------
// Workers AI

const calls = [];
/** Hold tokens of embedding calls now waiting, and tokens released (a release may come first). */
const parkedTokens = new Set();
const releasedTokens = new Set();

/** Parks while a text carries an unreleased "__hold_<token>__"; polls, so no promise crosses requests. */
async function holdIfAsked(texts) {
  for (const t of texts) {
    const token = /__hold_([A-Za-z0-9]+)__/.exec(t)?.[1];
    if (!token) continue;
    parkedTokens.add(token);
    try {
      while (!releasedTokens.has(token)) await sleep(5);
    } finally {
      parkedTokens.delete(token);
    }
  }
}

function record(model, inputs) {
  calls.push({ model, inputs: JSON.stringify(inputs) });
  if (calls.length > 500) calls.shift();
}

export class AiDouble extends WorkerEntrypoint {
  /** Test helper: the calls whose serialised inputs contain `marker`. */
  recorded(marker) {
    return calls.filter((c) => c.inputs.includes(marker)).map((c) => ({ model: c.model, inputs: JSON.parse(c.inputs) }));
  }

  /** Test helper: whether an embedding call holding `token` is waiting. */
  parked(token) {
    return parkedTokens.has(token);
  }

  /** Test helper: lets embedding calls holding `token` answer (now and from then on). */
  release(token) {
    releasedTokens.add(token);
  }

  async run(model, inputs, _options) {
    if (typeof model !== "string") throw aiError(5007, "No such model");
    if (inputs === null || typeof inputs !== "object") throw aiError(5006, "Invalid input: inputs must be an object");
    record(model, inputs);
    if (DEPRECATED_MODELS.has(model)) throw aiError(5028, `Model ${model} has been deprecated`);
    if (model === "@cf/baai/bge-base-en-v1.5") return this.#embed(inputs);
    if (model === "@cf/baai/bge-m3") return this.#embedM3(inputs);
    if (model === "@cf/baai/bge-reranker-base") return this.#rerank(inputs);
    if (TEXT_MODELS.has(model)) return this.#generate(inputs);
    throw aiError(5007, `No such model ${model} or task`);
  }

  async #embed(inputs) {
    const { text, pooling } = inputs;
    const texts = Array.isArray(text) ? text : [text];
    if (typeof text !== "string" && !Array.isArray(text)) throw aiError(5006, "Invalid input: must have required property 'text'");
    if (texts.length > EMBED_MAX_BATCH) throw aiError(5006, `Invalid input: text must NOT have more than ${EMBED_MAX_BATCH} items`);
    if (texts.length === 0) throw aiError(5006, "Invalid input: text must NOT have fewer than 1 items");
    for (const t of texts) {
      if (typeof t !== "string" || t.length < 1) throw aiError(5006, "Invalid input: text items must NOT have fewer than 1 characters");
    }
    if (pooling !== undefined && pooling !== "mean" && pooling !== "cls") throw aiError(5006, "Invalid input: pooling must be mean or cls");
    await holdIfAsked(texts);
    if (texts.some((t) => t.includes("__fail__"))) throw aiError(3010, "Internal server error (double)");
    const p = pooling ?? "mean";
    return { shape: [texts.length, DIMENSIONS], data: texts.map((t) => pseudoEmbedding(t, p)), pooling: p };
  }

  async #embedM3(inputs) {
    const { text, truncate_inputs, ...rest } = inputs;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw aiError(5006, `Invalid input: must NOT have additional properties (${extra.join(", ")})`);
    if (typeof text !== "string" && !Array.isArray(text)) throw aiError(5006, "Invalid input: must have required property 'text'");
    const texts = Array.isArray(text) ? text : [text];
    if (texts.length > EMBED_MAX_BATCH) throw aiError(5006, `Invalid input: text must NOT have more than ${EMBED_MAX_BATCH} items`);
    if (texts.length === 0) throw aiError(5006, "Invalid input: text must NOT have fewer than 1 items");
    for (const t of texts) {
      if (typeof t !== "string" || t.length < 1) throw aiError(5006, "Invalid input: text items must NOT have fewer than 1 characters");
    }
    if (truncate_inputs !== undefined && typeof truncate_inputs !== "boolean")
      throw aiError(5006, "Invalid input: truncate_inputs must be boolean");
    if (texts.some((t) => t.includes("__fail__"))) throw aiError(3010, "Internal server error (double)");
    return {
      shape: [texts.length, M3_DIMENSIONS],
      data: texts.map((t) => pseudoEmbedding(t, "cls", M3_DIMENSIONS, 0x6d3)),
      pooling: "cls",
    };
  }

  async #rerank(inputs) {
    const { query, contexts, top_k } = inputs;
    if (typeof query !== "string" || query.length < 1) throw aiError(5006, "Invalid input: query must NOT have fewer than 1 characters");
    if (!Array.isArray(contexts)) throw aiError(5006, "Invalid input: must have required property 'contexts'");
    if (top_k !== undefined && (!Number.isInteger(top_k) || top_k < 1)) throw aiError(5006, "Invalid input: top_k must be >= 1");
    if (query.includes("__fail__")) throw aiError(3010, "Internal server error (double)");
    const scored = contexts.map((c, id) => {
      if (typeof c?.text !== "string" || c.text.length < 1)
        throw aiError(5006, "Invalid input: context text must NOT have fewer than 1 characters");
      return { id, score: 1 / (1 + Math.exp(-(6 * overlap(query, c.text) - 3))) };
    });
    scored.sort((a, b) => b.score - a.score || a.id - b.id);
    return { response: top_k ? scored.slice(0, top_k) : scored };
  }

  async #generate(inputs) {
    const { messages, prompt, max_tokens, stream } = inputs;
    let msgs;
    if (Array.isArray(messages)) {
      if (messages.length === 0) throw aiError(5006, "Invalid input: messages must NOT have fewer than 1 items");
      for (const m of messages) {
        if (typeof m?.role !== "string" || typeof m?.content !== "string")
          throw aiError(5006, "Invalid input: message needs role and content");
      }
      msgs = messages;
    } else if (typeof prompt === "string" && prompt.length > 0) {
      msgs = [{ role: "user", content: prompt }];
    } else {
      throw aiError(5006, "Invalid input: must have required property 'prompt' or 'messages'");
    }
    if (max_tokens !== undefined && (!Number.isInteger(max_tokens) || max_tokens < 1))
      throw aiError(5006, "Invalid input: max_tokens must be a positive integer");
    const lastUser = [...msgs].reverse().find((m) => m.role === "user")?.content ?? "";
    if (lastUser.includes("__fail__")) throw aiError(3010, "Internal server error (double)");
    if (lastUser.includes("__slow__")) await sleep(1500);

    let text = compose(msgs, lastUser);
    const tokens = text.split(/(?<=\s)/);
    if (max_tokens !== undefined && tokens.length > max_tokens) text = tokens.slice(0, max_tokens).join("");
    const usage = {
      prompt_tokens: Math.ceil(msgs.reduce((n, m) => n + m.content.length, 0) / 4),
      completion_tokens: Math.min(tokens.length, max_tokens ?? tokens.length),
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (stream === true) return sseStream(text, usage, lastUser.includes("__stall__"));
    return { response: text, usage };
  }
}

function compose(msgs, lastUser) {
  const system = msgs.find((m) => m.role === "system")?.content ?? "";
  if (/standalone question/i.test(system)) {
    const follow = /Follow-up question:\s*(.+)$/m.exec(lastUser)?.[1]?.trim() ?? lastUser.trim();
    const previous = [...lastUser.matchAll(/^User:\s*(.+)$/gm)].map((m) => m[1].trim()).pop();
    return previous ? `${previous.replace(/[?.!\s]+$/, "")}: ${follow}` : follow;
  }
  // Sources as the prompt delimits them: <source n="1" document="...">\ntext\n</source>.
  const sources = [...lastUser.matchAll(/<source n="(\d+)"[^>\n]*>\n([^\n]*)/g)].map((m) => ({ n: Number(m[1]), text: m[2] }));
  if (sources.length === 0) return NO_ANSWER;
  const question = /Question:\s*([\s\S]+)$/.exec(lastUser)?.[1] ?? lastUser;
  let best = sources[0];
  let bestScore = -1;
  for (const s of sources) {
    const score = overlap(question, s.text);
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  if (bestScore <= 0) return NO_ANSWER;
  const first = /^.*?[.!?](?=\s|$)/.exec(best.text)?.[0] ?? best.text;
  // "__invent__" adds a sentence no source supports after the grounded one; "__ungrounded__" answers
  // with that sentence alone (strict grounding must drop it, and stream nothing of it).
  const invented = `The office also keeps a pet giraffe named Gerald [${best.n}].`;
  const grounded = `${first.replace(/[.!?]$/, "")} [${best.n}].`;
  const answer = lastUser.includes("__ungrounded__") ? invented : lastUser.includes("__invent__") ? `${grounded} ${invented}` : grounded;
  if (!/"Quotes:"/.test(system)) return answer;
  // As the prompt asks: a quotes block. Like a real model, some quotes are wrong: one no source
  // holds (the server must drop it) and, with several sources, one attributed to the wrong source
  // (the server must re-point or drop it).
  const quote = first
    .split(/\s+/)
    .slice(0, 12)
    .join(" ")
    .replace(/[.!?]$/, "");
  const lines = [`[${best.n}] "${quote}"`, `[${best.n}] "the warranty covers accidental damage on the moon"`];
  const other = sources.find((s) => s.n !== best.n);
  if (other) lines.push(`[${best.n}] "${other.text.split(/\s+/).slice(0, 10).join(" ")}"`);
  return `${answer}\nQuotes:\n${lines.join("\n")}`;
}

function sseStream(text, usage, stall) {
  const pieces = text.match(/\S+\s*/g) ?? [];
  const events = pieces.map((p) => `data: ${JSON.stringify({ response: p })}\n\n`);
  events.push(`data: ${JSON.stringify({ response: "", usage })}\n\n`, "data: [DONE]\n\n");
  // Cut into 7-byte chunks so events and UTF-8 sequences straddle chunk boundaries.
  const all = encoder.encode(events.join(""));
  const firstEventEnd = encoder.encode(events[0] ?? "").length;
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      if (stall && at >= firstEventEnd) {
        await sleep(20_000); // the reader's idle timeout cancels the stream long before
      }
      if (at >= all.length) {
        controller.close();
        return;
      }
      controller.enqueue(all.slice(at, at + 7));
      at += 7;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Vectorize

/** One index: id -> {id, namespace, values: Float32Array, metadata}, and its dimension. */
function newIndex(dimensions) {
  return { dimensions, rows: new Map(), lastMutation: null };
}
const INDEXES = { base: newIndex(DIMENSIONS), m3: newIndex(M3_DIMENSIONS) };

function toValues(values, op, dims) {
  if (!(Array.isArray(values) || values instanceof Float32Array || values instanceof Float64Array)) {
    throw vectorizeError(op, "vector values must be an array of numbers, a Float32Array or a Float64Array");
  }
  if (values.length !== dims) throw vectorizeError(op, `vector has ${values.length} dimensions, the index expects ${dims}`);
  const out = Float32Array.from(values);
  for (const x of out) if (!Number.isFinite(x)) throw vectorizeError(op, "vector values must be finite numbers");
  return out;
}

function checkNamespace(namespace, op) {
  if (namespace === undefined) return;
  if (typeof namespace !== "string" || namespace.length === 0 || bytes(namespace) > NAMESPACE_MAX_BYTES) {
    throw vectorizeError(op, `namespace must be 1-${NAMESPACE_MAX_BYTES} bytes`);
  }
}

function checkMetadata(metadata, op) {
  if (metadata === undefined) return;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) throw vectorizeError(op, "metadata must be an object");
  for (const key of Object.keys(metadata)) {
    if (key === "" || key.includes(".") || key.includes('"') || key.startsWith("$"))
      throw vectorizeError(op, `invalid metadata key ${JSON.stringify(key)}`);
  }
  if (bytes(JSON.stringify(metadata)) > METADATA_MAX_BYTES) throw vectorizeError(op, `metadata larger than ${METADATA_MAX_BYTES} bytes`);
}

function mutation(ix) {
  ix.lastMutation = crypto.randomUUID();
  return { mutationId: ix.lastMutation };
}

function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function matchesFilter(metadata, filter) {
  if (!filter) return true;
  for (const [field, cond] of Object.entries(filter)) {
    const v = metadata?.[field];
    if (cond === null || typeof cond !== "object") {
      if (v !== cond) return false;
      continue;
    }
    for (const [op, arg] of Object.entries(cond)) {
      const ok =
        op === "$eq"
          ? v === arg
          : op === "$ne"
            ? v !== arg
            : op === "$in"
              ? Array.isArray(arg) && arg.includes(v)
              : op === "$nin"
                ? Array.isArray(arg) && !arg.includes(v)
                : op === "$lt"
                  ? v < arg
                  : op === "$lte"
                    ? v <= arg
                    : op === "$gt"
                      ? v > arg
                      : op === "$gte"
                        ? v >= arg
                        : null;
      if (ok === null) throw vectorizeError("QUERY", `unsupported filter operator ${op}`);
      if (!ok) return false;
    }
  }
  return true;
}

export class VectorizeDouble extends WorkerEntrypoint {
  /** Which index this entrypoint serves (overridden by VectorizeM3Double). */
  get ix() {
    return INDEXES.base;
  }

  async describe() {
    return {
      vectorCount: this.ix.rows.size,
      dimensions: this.ix.dimensions,
      processedUpToDatetime: Date.now(),
      processedUpToMutation: this.ix.lastMutation ?? "",
    };
  }

  async upsert(vectors) {
    return this.#write(vectors, "UPSERT", true);
  }

  async insert(vectors) {
    return this.#write(vectors, "INSERT", false);
  }

  #write(vectors, op, replace) {
    if (!Array.isArray(vectors) || vectors.length === 0) throw vectorizeError(op, "expected a non-empty array of vectors");
    if (vectors.length > UPSERT_MAX) throw vectorizeError(op, `too many vectors in one call: ${vectors.length} (max ${UPSERT_MAX})`);
    const rows = vectors.map((v) => {
      if (typeof v?.id !== "string" || v.id.length === 0 || bytes(v.id) > ID_MAX_BYTES)
        throw vectorizeError(op, `vector id must be 1-${ID_MAX_BYTES} bytes`);
      checkNamespace(v.namespace, op);
      checkMetadata(v.metadata, op);
      return {
        id: v.id,
        namespace: v.namespace,
        values: toValues(v.values, op, this.ix.dimensions),
        metadata: v.metadata ? structuredClone(v.metadata) : undefined,
      };
    });
    const index = this.ix.rows;
    for (const row of rows) if (replace || !index.has(row.id)) index.set(row.id, row);
    return mutation(this.ix);
  }

  async query(vector, options = {}) {
    const q = toValues(vector, "QUERY", this.ix.dimensions);
    return this.#search(q, options);
  }

  async queryById(id, options = {}) {
    const row = this.ix.rows.get(id);
    if (!row) return { count: 0, matches: [] };
    return this.#search(row.values, options);
  }

  #search(q, options) {
    const { topK = 5, namespace, returnValues = false, returnMetadata = "none", filter } = options ?? {};
    const level = returnMetadata === true ? "all" : returnMetadata === false ? "none" : returnMetadata;
    if (!["none", "indexed", "all"].includes(level)) throw vectorizeError("QUERY", "returnMetadata must be none, indexed or all");
    if (!Number.isInteger(topK) || topK < 1) throw vectorizeError("QUERY", "topK must be a positive integer");
    const max = returnValues || level === "all" ? TOPK_MAX_WITH_DATA : TOPK_MAX;
    if (topK > max)
      throw vectorizeError(
        "QUERY",
        `topK ${topK} exceeds ${max}${max === TOPK_MAX_WITH_DATA ? " when returnValues or returnMetadata='all'" : ""}`,
      );
    checkNamespace(namespace, "QUERY");
    const scored = [];
    for (const row of this.ix.rows.values()) {
      if (namespace !== undefined && row.namespace !== namespace) continue;
      if (!matchesFilter(row.metadata, filter)) continue;
      scored.push({ row, score: cosine(q, row.values) });
    }
    scored.sort((a, b) => b.score - a.score || (a.row.id < b.row.id ? -1 : 1));
    const matches = scored.slice(0, topK).map(({ row, score }) => {
      const m = { id: row.id, score };
      if (row.namespace !== undefined) m.namespace = row.namespace;
      if (returnValues) m.values = Array.from(row.values);
      // No metadata indexes are configured on the double, so "indexed" returns none.
      if (level === "all" && row.metadata) m.metadata = structuredClone(row.metadata);
      return m;
    });
    return { count: matches.length, matches };
  }

  async getByIds(ids) {
    if (!Array.isArray(ids)) throw vectorizeError("GET", "ids must be an array");
    return ids
      .map((id) => this.ix.rows.get(id))
      .filter(Boolean)
      .map((row) => ({
        id: row.id,
        namespace: row.namespace,
        values: Array.from(row.values),
        metadata: row.metadata ? structuredClone(row.metadata) : undefined,
      }));
  }

  async deleteByIds(ids) {
    if (!Array.isArray(ids)) throw vectorizeError("DELETE", "ids must be an array");
    for (const id of ids) this.ix.rows.delete(id);
    return mutation(this.ix);
  }
}

/** The bge-m3 index: 1024 dimensions, its own vectors. */
export class VectorizeM3Double extends VectorizeDouble {
  get ix() {
    return INDEXES.m3;
  }
}

export default {
  fetch() {
    return new Response("cloudflare-doubles: use the AiDouble / VectorizeDouble entrypoints", { status: 404 });
  },
};
