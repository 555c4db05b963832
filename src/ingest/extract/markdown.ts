/**
 * Markdown stays markdown: headings are already `#` lines the chunker understands. Only noise that
 * hurts search is removed (link targets, image URLs, reference definitions, fences, table rules).
 *
 * Every pass over the text is a scanner that runs in linear time, whatever the input: no regex
 * here can backtrack over untrusted text (runs of `<!--`, `[` or `![` once made the old
 * regex-based version quadratic). The few regexes left are anchored and deterministic.
 *
 * Linear is not short: megabytes of markdown still take tens of milliseconds, so the line loop
 * (and, inside one huge line, each inline pass) is a checkpoint that yields (src/util/yield.ts).
 */
import { createYielder, type Yielder } from "../../util/yield";

/** Lines longer than this run their inline passes one at a time with a checkpoint between them. */
const LONG_LINE = 1 << 16;

export async function markdownToText(source: string, y: Yielder = createYielder()): Promise<{ text: string; title?: string }> {
  const out: string[] = [];
  let fence: string | null = null;
  const lines = stripComments(source).split(/\r\n?|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const p = y.maybeYield(line.length + 1);
    if (p) await p;
    const fenceMatch = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch) {
      // Code blocks are kept as text; only the fence lines go.
      if (fence === null) fence = fenceMatch[1][0];
      else if (fenceMatch[1][0] === fence) fence = null;
      continue;
    }
    if (fence !== null) {
      out.push(line);
      continue;
    }
    // Setext headings become ATX so heading paths work the same way.
    const next = lines[i + 1];
    if (line.trim() && next !== undefined && isSetextUnderline(next) && !/^\s*[-*+>|]/.test(line)) {
      out.push(`${next.trim()[0] === "=" ? "#" : "##"} ${inline(line.trim())}`);
      i++;
      continue;
    }
    if (/^\s{0,3}\[[^\]]+\]:\s*\S/.test(line)) continue; // reference definition
    if (isTableRule(line)) continue;
    out.push(line.length > LONG_LINE ? await inlineYielding(line, y) : inline(line));
  }
  const text = out.join("\n");
  const title = /^\s{0,3}# (.+)$/m.exec(text)?.[1]?.trim();
  return { text, title };
}

/** Removes `<!-- ... -->`; an unclosed comment is left as written (as CommonMark renders it). */
export function stripComments(s: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const a = s.indexOf("<!--", i);
    const b = a < 0 ? -1 : s.indexOf("-->", a + 4);
    if (b < 0) return out + s.slice(i);
    out += s.slice(i, a);
    i = b + 3;
  }
}

function isSetextUnderline(line: string): boolean {
  const t = line.trimEnd();
  let i = 0;
  while (i < 3 && (t[i] === " " || t[i] === "\t")) i++;
  const ch = t[i];
  if (ch !== "=" && ch !== "-") return false;
  for (; i < t.length; i++) if (t[i] !== ch) return false;
  return true;
}

/** `| --- | :--: |` and the like (a line holding only pipes, dashes, colons and spaces, with a pipe). */
export function isTableRule(line: string): boolean {
  let t = line.trim();
  if (!t.includes("|")) return false;
  if (t.startsWith("|")) t = t.slice(1);
  if (t.endsWith("|")) t = t.slice(0, -1);
  for (const cell of t.split("|")) if (!/^:?-+:?$/.test(cell.trim())) return false;
  return true;
}

/**
 * First index at or after `from` whose char satisfies `pred`. Answers are remembered, so queries
 * with non-decreasing `from` cost linear time in total over a line (each char is looked at once).
 */
function finder(s: string, pred: (c: string) => boolean): (from: number) => number {
  let lastFrom = -1;
  let at = -1; // first match at or after lastFrom, -1 when there is none
  return (from) => {
    if (lastFrom >= 0 && from >= lastFrom && (at === -1 || at >= from)) return at;
    let i = from;
    while (i < s.length && !pred(s[i])) i++;
    lastFrom = from;
    at = i < s.length ? i : -1;
    return at;
  };
}

const isWs = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";

const INLINE_PASSES = [images, links, refLinks, autolinks];

function inline(line: string): string {
  let s = line;
  for (const pass of INLINE_PASSES) s = pass(s);
  return s;
}

async function inlineYielding(line: string, y: Yielder): Promise<string> {
  let s = line;
  for (const pass of INLINE_PASSES) {
    s = pass(s);
    const p = y.maybeYield(s.length);
    if (p) await p;
  }
  return s;
}

/** `![alt](anything)` → alt */
function images(s: string): string {
  if (!s.includes("![")) return s;
  const close = finder(s, (c) => c === "]");
  const paren = finder(s, (c) => c === ")");
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length; ) {
    if (s[i] === "!" && s[i + 1] === "[") {
      const c = close(i + 2);
      if (c >= 0 && s[c + 1] === "(") {
        const e = paren(c + 2);
        if (e >= 0) {
          out += s.slice(last, i) + s.slice(i + 2, c);
          i = last = e + 1;
          continue;
        }
      }
    }
    i++;
  }
  return out + s.slice(last);
}

/** `[text](url)`, `[text](url (x))`, `[text](url "title")` → text */
function links(s: string): string {
  if (!s.includes("](")) return s;
  const close = finder(s, (c) => c === "]");
  const paren = finder(s, (c) => c === "(" || c === ")");
  const rparen = finder(s, (c) => c === ")");
  // The destination's end depends only on where it starts (the `]`), and the `]` found for each
  // `[` never moves backwards: one remembered answer means it is computed once per `]`.
  let memoAt = -1;
  let memoEnd = -1;
  const destinationEnd = (start: number): number => {
    let q = start;
    while (q < s.length) {
      const ch = s[q];
      if (ch === ")") return q;
      if (ch === "(") {
        const p = paren(q + 1);
        if (p < 0 || s[p] !== ")") return -1;
        q = p + 1;
        continue;
      }
      if (isWs(ch)) {
        while (q < s.length && isWs(s[q])) q++;
        const open = s[q];
        if (open !== '"' && open !== "'" && open !== "(") return -1;
        const e = rparen(q + 1);
        if (e < 0) return -1;
        if (e - 1 >= q + 1 && (s[e - 1] === '"' || s[e - 1] === "'")) return e;
        return s[e + 1] === ")" ? e + 1 : -1;
      }
      q++;
    }
    return -1;
  };
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length; ) {
    if (s[i] === "[") {
      const c = close(i + 1);
      if (c > i + 1 && s[c + 1] === "(") {
        if (memoAt !== c) {
          memoAt = c;
          memoEnd = destinationEnd(c + 2);
        }
        const e = memoEnd;
        if (e >= 0) {
          out += s.slice(last, i) + s.slice(i + 1, c);
          i = last = e + 1;
          continue;
        }
      }
    }
    i++;
  }
  return out + s.slice(last);
}

/** `[text][ref]` → text */
function refLinks(s: string): string {
  if (!s.includes("][")) return s;
  const close = finder(s, (c) => c === "]");
  const close2 = finder(s, (c) => c === "]");
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length; ) {
    if (s[i] === "[") {
      const c = close(i + 1);
      if (c > i + 1 && s[c + 1] === "[") {
        const e = close2(c + 2);
        if (e >= 0) {
          out += s.slice(last, i) + s.slice(i + 1, c);
          i = last = e + 1;
          continue;
        }
      }
    }
    i++;
  }
  return out + s.slice(last);
}

/** `<https://…>` / `<mailto:…>` → the URL */
function autolinks(s: string): string {
  if (!s.includes("<")) return s;
  const stop = finder(s, (c) => c === ">" || isWs(c));
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length; ) {
    if (s[i] === "<") {
      const scheme = s.startsWith("https:", i + 1) ? 6 : s.startsWith("http:", i + 1) ? 5 : s.startsWith("mailto:", i + 1) ? 7 : 0;
      if (scheme > 0) {
        const e = stop(i + 1 + scheme);
        if (e > i + 1 + scheme && s[e] === ">") {
          out += s.slice(last, i) + s.slice(i + 1, e);
          i = last = e + 1;
          continue;
        }
      }
    }
    i++;
  }
  return out + s.slice(last);
}
