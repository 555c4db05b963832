import { wordGroups } from "./streaming";
import { splitSentences, terms } from "./text";
import { type AnswerProvider, type AnswerRequest, type AnswerResult, NO_ANSWER } from "./types";

/** Share of the query's idf weight a sentence must cover to be quoted at all. */
const MIN_COVERAGE = 0.3;
/** ...and when it matches only one term of a longer question, the share that one term must carry. */
const MIN_SINGLE_TERM_COVERAGE = 0.6;
/** Sentences ranked below this fraction of the best one are left out. */
const RELATIVE_CUTOFF = 0.55;
const MAX_SENTENCES = 4;
const MAX_CHARS = 900;
const CJK_END = /[\u3002\uff01\uff1f\u300d\u300f\uff09\u3011]$/;
const CONTINUES = /^(?:this|that|these|those|it|its|they|their|such|the|he|she|also|however|therefore|thus)\b/i;

interface Sentence {
  text: string;
  n: number;
  /** Position of its source among the sources, 0 = retrieved first. */
  rank: number;
  index: number;
  terms: Set<string>;
  seq: string[];
  words: number;
  coverage: number;
  matched: number;
  score: number;
}

/**
 * Answers by quoting the sentences of the retrieved passages that best cover the question: no
 * model, no network, deterministic, a few milliseconds. Relevance is the idf-weighted share of the
 * question's terms a sentence contains (idf over the retrieved passages; a term found in none of
 * them weighs like a rare one, so a question about something the documents never mention finds
 * nothing), plus a bonus for query phrases kept in order; position in the passage and the passage's
 * retrieval rank only break near-ties.
 */
export class ExtractiveAnswerer implements AnswerProvider {
  readonly id = "extractive";
  /** Bump when the algorithm changes: answer caches key on it. */
  readonly model = "extractive-v1";

  async answer(req: AnswerRequest): Promise<AnswerResult> {
    return this.answerSync(req);
  }

  answerSync(req: Pick<AnswerRequest, "query" | "sources">): AnswerResult {
    const none: AnswerResult = { answer: NO_ANSWER, citations: [], model: this.model, usage: { prompt_tokens: 0, completion_tokens: 0 } };
    const sources = req.sources.filter((s) => s.text.trim().length > 0);
    // A question made only of stopwords ("what is it?") has no terms, hence no answer.
    const qSeq = terms(req.query).seq;
    if (sources.length === 0 || qSeq.length === 0) return none;
    const query = [...new Set(qSeq)];
    const qPairs = new Set(qSeq.slice(1).map((t, i) => `${qSeq[i]} ${t}`));

    const sentences: Sentence[] = [];
    const df = new Map<string, number>();
    sources.forEach((src, rank) => {
      const seen = new Set<string>();
      splitSentences(src.text).forEach((text, index) => {
        const t = terms(text);
        const set = new Set(t.seq);
        for (const q of query) if (set.has(q)) seen.add(q);
        sentences.push({ text, n: src.n, rank, index, terms: set, seq: t.seq, words: t.words, coverage: 0, matched: 0, score: 0 });
      });
      for (const q of seen) df.set(q, (df.get(q) ?? 0) + 1);
    });

    const N = sources.length;
    const idf = (d: number) => 1 + Math.log(1 + (N - d + 0.5) / (d + 0.5));
    const weight = new Map(query.map((q) => [q, idf(Math.max(1, df.get(q) ?? 0))]));
    const total = query.reduce((s, q) => s + (weight.get(q) ?? 0), 0);

    for (const s of sentences) {
      let covered = 0;
      for (const q of query) {
        if (!s.terms.has(q)) continue;
        covered += weight.get(q) ?? 0;
        s.matched++;
      }
      s.coverage = covered / total;
      if (s.coverage === 0) continue;
      let phrases = 0;
      for (let i = 1; i < s.seq.length && phrases < 2; i++) if (qPairs.has(`${s.seq[i - 1]} ${s.seq[i]}`)) phrases++;
      let score = s.coverage + 0.1 * phrases + 0.05 / (1 + s.index) + 0.04 * (1 - s.rank / N);
      if (s.words < 4) {
        score *= 0.6; // headings, labels
      } else if (s.words > 60) {
        score *= 0.85;
      }
      if (s.index === 0 && /^\p{Ll}/u.test(s.text)) score *= 0.85; // a chunk that starts mid-sentence
      s.score = score;
    }

    const ranked = sentences
      .filter((s) => s.coverage >= MIN_COVERAGE && (s.matched >= 2 || query.length === 1 || s.coverage >= MIN_SINGLE_TERM_COVERAGE))
      .sort((a, b) => b.score - a.score || a.rank - b.rank || a.index - b.index);
    if (ranked.length === 0) return none;

    const picked: Sentence[] = [];
    const seenText = new Set<string>();
    let chars = 0;
    for (const s of ranked) {
      if (picked.length >= MAX_SENTENCES || s.score < RELATIVE_CUTOFF * ranked[0].score) break;
      const key = s.text.toLowerCase().replace(/\W+/gu, " ").trim();
      if (seenText.has(key) || picked.some((p) => jaccard(p.terms, s.terms) >= 0.8)) continue; // overlapping chunks repeat sentences
      if (picked.length > 0 && chars + s.text.length > MAX_CHARS) continue;
      picked.push(s);
      seenText.add(key);
      chars += s.text.length;
    }
    // A lone sentence often needs the one after it ("It ...", "This ...") to make sense.
    if (picked.length === 1) {
      const best = picked[0];
      const next = sentences.find((s) => s.rank === best.rank && s.index === best.index + 1);
      if (next && next.words >= 4 && (next.coverage > 0 || CONTINUES.test(next.text)) && chars + next.text.length <= MAX_CHARS)
        picked.push(next);
    }

    // The best sentence's source first, each source's sentences in document order.
    const order = new Map<number, number>();
    for (const s of picked) if (!order.has(s.rank)) order.set(s.rank, order.size);
    picked.sort((a, b) => (order.get(a.rank) ?? 0) - (order.get(b.rank) ?? 0) || a.index - b.index);

    let answer = "";
    for (const s of picked) {
      const cited = cite(s.text, s.n);
      answer += answer && !CJK_END.test(answer) ? ` ${cited}` : cited;
    }
    return {
      answer,
      citations: [...new Set(picked.map((s) => s.n))].sort((a, b) => a - b),
      model: this.model,
      usage: { prompt_tokens: 0, completion_tokens: 0 },
    };
  }

  async *stream(req: AnswerRequest): AsyncIterable<string> {
    yield* wordGroups(this.answerSync(req).answer);
  }
}

/** `The sentence [2].` – the citation goes inside the final punctuation. */
function cite(sentence: string, n: number): string {
  const m = /^(.*?)(\s*[.!?\u2026\u3002\uff01\uff1f]+["'\u201d\u2019\u00bb)\]\u300d\u300f\uff09\u3011]*)$/su.exec(sentence);
  if (m?.[1]) {
    const cjk = /[\u3002\uff01\uff1f]/.test(m[2]);
    return `${m[1]}${cjk ? "" : " "}[${n}]${m[2].trim()}`;
  }
  return `${sentence} [${n}].`;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}
