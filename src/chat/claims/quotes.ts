/**
 * The quotes a language model writes after its answer (the prompt asks for them): a line `Quotes:`
 * then one line per citation, `[n] "verbatim text"`. They are parsed off the reply and never shown
 * as they are: the server locates each one in the source it names (index.ts).
 */
import type { Quote } from "./index";

const SENTINEL = /\n[ \t]*(?:\*\*)?quotes(?:\*\*)?[ \t]*:/i;
const LINE = /\[(\d{1,4})\]\s*:?\s*["\u201c\u201e\u00ab'](.+?)["\u201d\u00bb']?\s*$/;
/** Could the text after a line break still become the quotes line? Then it is held back while streaming. */
function mayStartQuotes(tail: string): boolean {
  const t = tail.replace(/^[ \t]*/, "").toLowerCase();
  return t.length < 12 && ("quotes:".startsWith(t.replace(/^\*\*/, "").replace(/\*\*(?=:?$)/, "")) || t === "*" || t === "**");
}

/** A reply without its quotes block, and the quotes it held. */
export function splitQuotes(reply: string): { answer: string; quotes: Quote[] } {
  const m = SENTINEL.exec(reply);
  if (!m) return { answer: reply, quotes: [] };
  return { answer: reply.slice(0, m.index).trimEnd(), quotes: parseQuotes(reply.slice(m.index + m[0].length)) };
}

function parseQuotes(block: string): Quote[] {
  const out: Quote[] = [];
  for (const line of block.split("\n")) {
    const m = LINE.exec(line.trim().replace(/^[-*\d.)\s]+(?=\[)/, ""));
    if (m && out.length < 50) out.push({ n: Number(m[1]), quote: m[2].trim().slice(0, 1000) });
  }
  return out;
}

/**
 * The same for a streamed reply: `push` returns the part of each delta that belongs to the answer
 * (holding back a few characters that could start the quotes line), `end` the rest; `quotes` is
 * filled once the stream ends.
 */
export class QuoteStripper {
  private text = "";
  private sent = 0;
  private cut = -1;
  quotes: Quote[] = [];

  push(delta: string): string {
    this.text += delta;
    if (this.cut < 0) {
      const m = SENTINEL.exec(this.text);
      if (m) this.cut = m.index;
    }
    let upto = this.cut >= 0 ? this.cut : this.text.length;
    if (this.cut < 0) {
      const nl = this.text.lastIndexOf("\n");
      if (nl >= this.sent && mayStartQuotes(this.text.slice(nl + 1))) upto = nl;
    }
    const out = this.text.slice(this.sent, upto);
    this.sent = Math.max(this.sent, upto);
    return out;
  }

  end(): string {
    const { answer, quotes } = splitQuotes(this.text);
    this.quotes = quotes;
    const out = answer.length > this.sent ? answer.slice(this.sent) : "";
    this.sent = Math.max(this.sent, answer.length);
    return out;
  }
}
