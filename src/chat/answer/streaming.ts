import type { Deadline } from "./upstream";

/**
 * Splits a finished answer into a few deltas of about `words` words (long runs without spaces,
 * as in CJK text, are cut every 16 characters). The deltas concatenate to exactly `text`.
 */
export function* wordGroups(text: string, words = 6): Generator<string> {
  const lead = /^\s*/.exec(text)?.[0] ?? "";
  let buf = lead;
  let count = 0;
  for (const token of text.slice(lead.length).match(/\S+\s*/g) ?? []) {
    const chars = Array.from(token);
    for (let i = 0; i < chars.length; i += 16) {
      buf += chars.slice(i, i + 16).join("");
      if (++count >= words) {
        yield buf;
        buf = "";
        count = 0;
      }
    }
  }
  if (buf) yield buf;
}

/**
 * The `data` payloads of a server-sent-event byte stream, up to `data: [DONE]` or the end of the
 * stream, parsed by `eventsource-parser` (events and UTF-8 characters split across chunks, CRLF
 * line ends, multi-line data, comments). Each read is raced against `deadline` (an idle timeout);
 * leaving early cancels the stream, which stops the upstream generation.
 */
export async function* sseData(body: ReadableStream<Uint8Array>, deadline?: Deadline): AsyncGenerator<string> {
  // Only streamed answers from a remote model parse SSE: loaded then, not with every chat module.
  const { createParser } = await import("eventsource-parser");
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const ready: string[] = [];
  // Other fields (event:, id:, retry:) and comments are not used by these providers.
  const parser = createParser({ onEvent: (e) => ready.push(e.data) });
  let ended = false;
  try {
    for (;;) {
      const r = deadline ? await deadline.race(reader.read()) : await reader.read();
      deadline?.restart();
      if (r.done) {
        ended = true;
        parser.feed(`${decoder.decode()}\n\n`); // a final event without its blank line still counts
      } else {
        parser.feed(decoder.decode(r.value, { stream: true }));
      }
      while (ready.length > 0) {
        const payload = ready.shift() as string;
        if (payload.trim() === "[DONE]") return;
        yield payload;
      }
      if (ended) return;
    }
  } finally {
    if (ended) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
}
