import { vectorId } from "../../retrieval/types";
import { extractCitations } from "./citations";
import { wordGroups } from "./streaming";
import { type AnswerProvider, type AnswerRequest, type AnswerResult, NO_ANSWER } from "./types";
import {
  answerFailure,
  checkUpstreamUrl,
  Deadline,
  type FetchFn,
  globalFetch,
  UpstreamProtocolError,
  UpstreamStatusError,
} from "./upstream";

export interface ChatUrlOptions {
  /** `UPSTREAM_CHAT_URL` from server configuration. A client-supplied URL must never get here. */
  url: string;
  timeoutMs: number;
  fetch?: FetchFn;
}

/**
 * The original system's answer protocol: POST `{query, embeddings, document}` and read `{answer}`.
 * `document` carries the retrieved passages as `[{id, text}]` (id = `<document_id>:<chunk>`), so
 * the upstream answers from what this service retrieved. `embeddings` is sent empty: the original
 * upstream's vectors came from another model (all-MiniLM-L6-v2, 384 dimensions) and would not be
 * comparable with this service's.
 */
export class ChatUrlAnswerer implements AnswerProvider {
  readonly id = "chat-url";
  readonly model = "upstream";
  private readonly url: string;
  private readonly fetchFn: FetchFn;

  constructor(private readonly opts: ChatUrlOptions) {
    this.url = checkUpstreamUrl(opts.url, "UPSTREAM_CHAT_URL").href;
    this.fetchFn = opts.fetch ?? globalFetch;
  }

  async answer(req: AnswerRequest): Promise<AnswerResult> {
    if (req.sources.length === 0)
      return { answer: NO_ANSWER, citations: [], model: this.model, usage: { prompt_tokens: 0, completion_tokens: 0 } };
    const deadline = new Deadline(this.opts.timeoutMs, req.signal);
    try {
      const res = await deadline.race(
        this.fetchFn(this.url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({
            query: req.query,
            embeddings: [],
            document: req.sources.map((s) => ({ id: vectorId(s.document_id, s.chunk), text: s.text })),
          }),
          signal: deadline.signal,
          redirect: "manual",
        }),
      );
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new UpstreamStatusError(res.status);
      }
      const body = (await deadline.race(res.json())) as { answer?: unknown };
      if (typeof body?.answer !== "string" || !body.answer.trim()) throw new UpstreamProtocolError("no answer field");
      const answer = body.answer.trim();
      return {
        answer,
        citations: extractCitations(answer, req.sources.length),
        model: this.model,
        usage: { prompt_tokens: 0, completion_tokens: 0 },
      };
    } catch (err) {
      throw answerFailure("chat-url", err, deadline, req.signal);
    } finally {
      deadline.stop();
    }
  }

  /** The protocol does not stream: the whole answer is fetched, then sent in word groups. */
  async *stream(req: AnswerRequest): AsyncIterable<string> {
    yield* wordGroups((await this.answer(req)).answer);
  }
}
