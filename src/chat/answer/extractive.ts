import {
  type AnswerType,
  answerTypes,
  definitionFit,
  definitionMatcher,
  definitionSubject,
  relatedStems,
  typeFit,
  typesMet,
} from "./question";
import { neutraliseMarkers } from "./citations";
import { wordGroups } from "./streaming";
import { isBoilerplate, splitStatements, terms } from "./text";
import type { KnownSentence } from "../claims";
import { EXTRACTIVE as W } from "../tuning";
import { type AnswerProvider, type AnswerRequest, type AnswerResult, NO_ANSWER } from "./types";

/** Below this score no statement answers the question and the answerer says so (src/chat/tuning.ts). */
export const ANSWER_THRESHOLD = W.threshold;
const { relativeCutoff: RELATIVE_CUTOFF, minPart: MIN_PART, maxSentences: MAX_SENTENCES, maxChars: MAX_CHARS } = W;
const CJK_END = /[\u3002\uff01\uff1f\u300d\u300f\uff09\u3011]$/;
const CONTINUES = /^(?:this|that|these|those|it|its|they|their|such|he|she|his|her|also|however|therefore|thus)\b/i;
/** Words that only say which type of answer is wanted ("what year", "how many"): not content to match. */
const TYPE_WORDS: Record<AnswerType, Set<string>> = {
  date: new Set(["date", "year", "day", "month", "time"]),
  number: new Set(["number", "amount"]),
  place: new Set(["place", "citi", "countri", "town"]),
  person: new Set(["person"]),
  name: new Set(),
  other: new Set(),
};
const { relatedCredit: RELATED_CREDIT, contextCredit: CONTEXT_CREDIT, shortWords: SHORT } = W;

/** A statement of a passage as prepared once per chunk text (the question does not matter yet). */
interface PreparedStatement {
  text: string;
  index: number;
  /** Its stems as a set: built when it first matches a question (most statements never do). */
  terms: Set<string> | null;
  seq: string[];
  words: number;
  /** This statement joined with the next one (a title and its date, a label and its value). */
  joined: boolean;
  /** The passage range it was read from (what its citation quotes), when known. */
  start?: number;
  end?: number;
}

/** A passage's statements and terms: everything the answerer needs of a chunk that does not depend on the question. */
interface PreparedPassage {
  statements: PreparedStatement[];
  /** Every term of its statements (which of the question's terms the passage holds: their document frequency). */
  terms: Set<string>;
  /** Terms of the passage's first line when it is a title. */
  titleTerms: string[];
  /** Every term of the passage (headings and boilerplate too): computed only when a question names something. */
  allTerms(): Set<string>;
}

interface Statement extends PreparedStatement {
  terms: Set<string>;
  n: number;
  /** Position of its source among the sources, 0 = retrieved first. */
  rank: number;
  coverage: number;
  matched: number;
  score: number;
}

/**
 * Answers by quoting the statements of the retrieved passages that answer the question: no model,
 * no network, deterministic, a few milliseconds.
 *
 * - Statements are sentences and the lines that stand alone (table rows as "Header: value",
 *   infobox "Label Value" lines); navigation, references, bare URLs and number-heavy lines are
 *   dropped before they can be quoted (text.ts).
 * - A statement's relevance is the idf-weighted share of the question's terms it contains (stems
 *   of the shared text module; idf over the retrieved passages, a term found in none weighing like
 *   a rare one), with half credit for a related noun ("birth" for "born"), plus how close together
 *   the matched terms sit and a bonus for query phrases kept in order.
 * - The question's type (who, when, where, how many) must be met: a statement without a fitting
 *   candidate (a name, a date, a place, a number not already in the question) loses most of its score.
 * - A short title or label is also read together with the statement after it ("The Crazy Ones" +
 *   "October 14, 1998").
 * - A name the question asks about (a capitalised word) must be mentioned by the statement's own
 *   passage or its document's name or title, not only by another passage.
 * - One to three statements, each cited `[n]`; nothing above `ANSWER_THRESHOLD` → NO_ANSWER.
 */
export class ExtractiveAnswerer implements AnswerProvider {
  readonly id = "extractive";
  /** Bump when the algorithm changes: answer caches key on it. */
  readonly model = ANALYSIS_VERSION;

  constructor(private readonly threshold: number = ANSWER_THRESHOLD) {}

  async answer(req: AnswerRequest): Promise<AnswerResult> {
    return this.answerSync(req);
  }

  /** The best statement's score too, for choosing the threshold from data (bench/answers-offline.mjs). */
  answerSync(
    req: Pick<AnswerRequest, "query" | "sources"> & { debug?: boolean; timings?: Record<string, number> },
  ): AnswerResult & { best: number; ranked?: { text: string; n: number; score: number; coverage: number }[] } {
    const timings = req.timings ?? {};
    const t0 = now();
    const none = { answer: NO_ANSWER, citations: [], model: this.model, usage: { prompt_tokens: 0, completion_tokens: 0 }, best: 0 };
    const sources = req.sources.filter((s) => s.text.trim().length > 0);
    const types = answerTypes(req.query);
    // A question made only of stopwords ("what is it?") has no terms, hence no answer.
    const qAll = terms(req.query).seq;
    const qSeq = qAll.filter((t) => !types.some((type) => TYPE_WORDS[type].has(t)));
    if (sources.length === 0 || qSeq.length === 0) return none;
    const query = [...new Set(qSeq)];
    const qPairs = new Set(qAll.slice(1).map((t, i) => `${qAll[i]} ${t}`));

    const contextTerms = new Map<number, Set<string>>();
    const subject = definitionSubject(req.query);
    const df = new Map<string, number>();
    const prepared = sources.map((src) => preparePassage(src.text, src.statements));
    sources.forEach((src, rank) => {
      const prep = prepared[rank];
      // Context of each statement of the passage: the document's name and the passage's first line
      // when it is a title ("Iwan Roberts", "The Crazy Ones").
      contextTerms.set(src.n, new Set([...nameTerms(src.document_name), ...prep.titleTerms]));
      for (const q of query) if (prep.terms.has(q)) df.set(q, (df.get(q) ?? 0) + 1);
    });
    timings.prepare = now() - t0;

    // A name the question asks about (a capitalised word past the first) that no source and no
    // document name mentions: the documents are about something else ("the first iPhone"). And a
    // statement answers about a name only if its own passage (or the passage's document name or
    // title) mentions it: one passage naming the iPhone does not make another's "first release" about it.
    const names = questionNames(req.query);
    // The statements' terms first: tokenising the whole passage (headings, boilerplate) is needed
    // only for a name none of its statements holds.
    const mentions = (rank: number, name: string) =>
      prepared[rank].terms.has(name) || (contextTerms.get(sources[rank].n)?.has(name) ?? false) || prepared[rank].allTerms().has(name);
    const aboutNamesRank = sources.map((_, rank) => names.every((name) => mentions(rank, name)));
    if (names.length > 0 && !aboutNamesRank.some(Boolean)) return none;

    const t1 = now();
    const definition = subject ? definitionMatcher(subject) : null;
    const N = sources.length;
    const idf = (d: number) => 1 + Math.log(1 + (N - d + 0.5) / (d + 0.5));
    const weight = new Map(query.map((q) => [q, idf(Math.max(1, df.get(q) ?? 0))]));
    const total = query.reduce((s, q) => s + (weight.get(q) ?? 0), 0);

    // Only statements that match something become objects: most of a passage's statements match nothing.
    const statements: Statement[] = [];
    const related = query.map((q) => relatedStems(q));
    const weights = query.map((q) => weight.get(q) ?? 0);
    const querySet = new Set(query);
    // Each statement is matched by one pass over its stems (most match nothing): a query term's
    // index, and the query terms each related stem stands for.
    const queryIndex = new Map(query.map((q, i) => [q, i]));
    const relatedIndex = new Map<string, number[]>();
    related.forEach((rs, i) => {
      for (const r of rs) relatedIndex.set(r, [...(relatedIndex.get(r) ?? []), i]);
    });
    /** Per query term: 0 not in the statement, 1 in it, 2 only a related stem in it. */
    const hit = new Uint8Array(query.length);
    const matchStems = (seq: string[]): boolean => {
      hit.fill(0);
      let any = false;
      for (const t of seq) {
        const i = queryIndex.get(t);
        if (i !== undefined) {
          hit[i] = 1;
          any = true;
        }
        const rs = relatedIndex.get(t);
        if (rs)
          for (const j of rs)
            if (hit[j] === 0) {
              hit[j] = 2;
              any = true;
            }
      }
      return any;
    };
    sources.forEach((src, rank) => {
      if (!aboutNamesRank[rank]) return;
      const context = contextTerms.get(src.n);
      const passage = prepared[rank].statements;
      for (let k = 0; k < passage.length; k++) {
        const own = passage[k];
        let p = own;
        // A sentence made only of part of the question's words ("This is page two.") says nothing the
        // question does not: what answers it follows it, so it is read with the next statement. (A
        // title is joined by its own rule; a sentence with all of them may be the answer: "Is flat
        // better than nested?" - "Flat is better than nested.")
        if (
          !own.joined &&
          own.seq.length > 0 &&
          own.seq.every((t) => querySet.has(t)) &&
          new Set(own.seq).size < querySet.size &&
          TERMINATED.test(own.text)
        ) {
          const next = passage.find((x) => x.index === own.index + 1 && !x.joined);
          if (next) p = joinStatements(own, next);
        }
        // A statement matching only through its context (the document's name, the title) is never
        // ranked (matched > 0 below): no object, no type regexes for it.
        if (!matchStems(p.seq)) continue;
        let covered = 0;
        let matched = 0;
        for (let i = 0; i < query.length; i++) {
          if (hit[i] === 1) {
            covered += weights[i];
            matched++;
          } else if (hit[i] === 2) {
            covered += RELATED_CREDIT * weights[i];
            matched++;
          } else if (context?.has(query[i])) {
            covered += CONTEXT_CREDIT * weights[i];
          }
        }
        // Kept on the prepared statement: while the passage is cached (no stored analysis), the next question it matches reuses it.
        p.terms ??= new Set(p.seq);
        statements.push({ ...p, terms: p.terms, n: src.n, rank, coverage: covered / total, matched, score: 0 });
      }
    });
    for (const s of statements) {
      let phrases = 0;
      for (let i = 1; i < s.seq.length && phrases < 2; i++) if (qPairs.has(`${s.seq[i - 1]} ${s.seq[i]}`)) phrases++;
      let score =
        s.coverage +
        W.phraseBonus * phrases +
        W.proximityBonus * proximity(s.seq, query) +
        W.positionBonus / (1 + s.index) +
        W.rankBonus * (1 - s.rank / N);
      // A statement without the kind of answer asked for (no place for "where") keeps a third.
      const fit = typeFit(types, s.text, req.query) * (definition ? definitionFit(definition, s.text) : 1);
      score *= W.typeFloor + (1 - W.typeFloor) * fit;
      if (s.words < 3) score *= W.fewWordsFactor; // headings, lone labels
      if (!s.joined && /[:：]$/.test(s.text))
        score *= W.introFactor; // an introduction without what it introduces
      else if (s.words > W.longWords) score *= W.longFactor;
      if (s.index === 0 && /^\p{Ll}/u.test(s.text)) score *= W.fragmentFactor; // a chunk that starts mid-sentence
      s.score = score;
    }

    timings.score = now() - t1;
    const t2 = now();
    const ranked = statements
      .filter((s) => s.score > 0 && s.matched > 0)
      .sort((a, b) => b.score - a.score || a.rank - b.rank || a.index - b.index);
    const best = ranked[0]?.score ?? 0;
    const debug = req.debug ? { ranked: ranked.slice(0, 12).map(({ text, n, score, coverage }) => ({ text, n, score, coverage })) } : {};
    if (ranked.length === 0 || best < this.threshold) return { ...none, best, ...debug };

    // The best statement, then any near-equal one, or one that answers a part of the question the
    // statements picked so far leave open ("Who founded Microsoft, and when?").
    const picked: Statement[] = [];
    const seenText = new Set<string>();
    const covered = new Set<string>();
    const typesCovered = new Set<AnswerType>();
    let chars = 0;
    // The question's names are its subject: every statement about it repeats them, so a statement
    // adds a part of the answer only through the other terms.
    const subjectTerms = new Set(names);
    const matches = (s: Statement, i: number) => s.terms.has(query[i]) || related[i].some((r) => s.terms.has(r));
    for (const s of ranked) {
      if (picked.length >= MAX_SENTENCES || s.score < MIN_PART * best) break;
      const key = s.text.toLowerCase().replace(/\W+/gu, " ").trim();
      if (seenText.has(key) || picked.some((p) => overlaps(p, s))) continue; // overlapping chunks repeat sentences
      const met = types.length > 1 ? typesMet(types, s.text, req.query) : [];
      if (picked.length > 0) {
        // A further statement must hold an answer of the kind asked for itself (a name for "who",
        // a date for "when"): a near-equal score from the question's words alone adds no answer.
        if (!types.includes("other") && typesMet(types, s.text, req.query).length === 0) continue;
        let gain = 0;
        let shared = false;
        for (let i = 0; i < query.length; i++) {
          if (!matches(s, i)) continue;
          if (covered.has(query[i])) shared = true;
          else if (!subjectTerms.has(query[i])) gain += weights[i];
        }
        gain /= total;
        const newType = met.some((t) => !typesCovered.has(t));
        // Near-equal, or answering a part left open about the same thing (it shares a term with
        // what is picked: a statement matching only the other half of the question is about something else).
        const part = shared && (gain >= W.minGain || newType);
        if (s.score < RELATIVE_CUTOFF * best && !part) continue;
        if (chars + s.text.length > MAX_CHARS) continue;
      }
      picked.push(s);
      seenText.add(key);
      for (let i = 0; i < query.length; i++) if (matches(s, i)) covered.add(query[i]);
      for (const t of met) typesCovered.add(t);
      chars += s.text.length;
    }
    // A lone sentence sometimes needs the one after it ("It ...", "This ...") to make sense.
    if (picked.length === 1 && !picked[0].joined) {
      const first = picked[0];
      const next = prepared[first.rank].statements.find((s) => s.index === first.index + 1 && !s.joined);
      if (next && next.words >= W.followOnWords && CONTINUES.test(next.text) && chars + next.text.length <= MAX_CHARS)
        picked.push({ ...next, terms: next.terms ?? new Set(next.seq), n: first.n, rank: first.rank, coverage: 0, matched: 0, score: 0 });
    }

    // The best statement's source first, each source's statements in document order.
    const order = new Map<number, number>();
    for (const s of picked) if (!order.has(s.rank)) order.set(s.rank, order.size);
    picked.sort((a, b) => (order.get(a.rank) ?? 0) - (order.get(b.rank) ?? 0) || a.index - b.index);

    timings.select = now() - t2;
    let answer = "";
    const sentences: KnownSentence[] = [];
    for (const s of picked) {
      const cited = cite(s.text, s.n);
      if (answer && !CJK_END.test(answer)) answer += " ";
      sentences.push({
        start: answer.length,
        end: answer.length + cited.length,
        quotes: [{ n: s.n, quote: s.text, start: s.start, end: s.end }],
      });
      answer += cited;
    }
    return {
      answer,
      citations: [...new Set(picked.map((s) => s.n))].sort((a, b) => a - b),
      model: this.model,
      usage: { prompt_tokens: 0, completion_tokens: 0 },
      sentences,
      best,
      ...debug,
    };
  }

  async *stream(req: AnswerRequest): AsyncIterable<string> {
    const r = this.answerSync(req);
    if (r.sentences) req.onSentences?.(r.sentences);
    yield* wordGroups(r.answer);
  }
}

/** Content terms of the capitalised words of a question, except its first word (Latin scripts). */
function questionNames(question: string): string[] {
  const words = question.match(/[\p{L}\p{N}'’-]+/gu) ?? [];
  return words
    .slice(1)
    .filter((w) => /^\p{Lu}/u.test(w) || /\p{Ll}\p{Lu}/u.test(w))
    .flatMap((w) => terms(w).seq);
}

const isShort = (words: number, text: string) => words <= SHORT && !/[.!?。！？]$/.test(text);
const INTRO_END = /[:：]$/;
const TERMINATED = /[.!?。！？]["'\u201d\u2019)]*$/;

/**
 * Passages prepared in this isolate, by chunk text, for chunks that come without a stored analysis
 * (an older answerer's, or none): a chunk retrieved again is split and tokenised once. Kept here,
 * not in the collection's index object, so the index's schema stays the search engine's own; the
 * cache is as versioned as the code that fills it (a deploy starts empty). Bounded in entries,
 * oldest out.
 *
 * A chunk with a stored analysis is not kept: decoding it costs about 40 µs, and keeping 512
 * prepared passages (their statements, stems and sets) that churn with every new question costs
 * more than that in old-generation garbage collection on the thread that serves the requests
 * (uncached chat throughput on SciFact: about 15% higher without it, docs/performance.md).
 */
const PREPARED = new Map<string, PreparedPassage>();
const MAX_PREPARED = 512;

export function clearPreparedPassages(): void {
  PREPARED.clear();
}

/** How many passages this isolate keeps prepared (tests). */
export function preparedPassageCount(): number {
  return PREPARED.size;
}

export function preparePassage(text: string, precomputed?: string | null): PreparedPassage {
  const stored = precomputed ? decodeAnalysis(precomputed) : null;
  if (stored) return buildPassage(text, stored);
  const hit = PREPARED.get(text);
  if (hit) {
    // Refresh its place: the map's order is the eviction order.
    PREPARED.delete(text);
    PREPARED.set(text, hit);
    return hit;
  }
  const prepared = buildPassage(text, analysePassage(text));
  PREPARED.set(text, prepared);
  if (PREPARED.size > MAX_PREPARED) PREPARED.delete(PREPARED.keys().next().value as string);
  return prepared;
}

/**
 * What the answerer reads of a chunk before any question: its statements (text, stems, word count,
 * passage range; whether it is read together with the next one) and its title's stems. Computed at
 * ingest and stored beside the chunk (`encodeAnalysis`), or here on first use.
 */
interface Analysis {
  statements: { text: string; seq: string[]; words: number; start?: number; end?: number; joinsNext: boolean }[];
  titleTerms: string[];
  /**
   * The passage's stems that no statement holds (headings, boilerplate), stored so that a question
   * naming something the statements do not is answered without tokenising the passage whole.
   */
  otherTerms?: string[];
}

/** The version stored analyses carry: the answerer's model id (its splitting and stemming). */
export const ANALYSIS_VERSION = "extractive-v5";

function analysePassage(text: string): Analysis {
  // Bracketed numbers in a passage are never quoted as citations (citations.ts).
  const all = splitStatements(neutraliseMarkers(text));
  const kept = all.filter((st) => !isBoilerplate(st.text));
  const tokenised = kept.map((st) => terms(st.text));
  const statements = kept.map((st, index) => {
    const t = tokenised[index];
    const next = kept[index + 1];
    // A title and its date, a label and its value, an instruction and the command it introduces.
    // A data table's row is a record of its own: two rows read together make a row that is not in the table.
    const joinsNext =
      next !== undefined &&
      !st.record &&
      !next.record &&
      ((isShort(t.words, st.text) && isShort(tokenised[index + 1].words, next.text) && !INTRO_END.test(next.text)) ||
        INTRO_END.test(st.text));
    return { text: st.text, seq: t.seq, words: t.words, start: st.start, end: st.end, joinsNext };
  });
  const first = all[0]?.text ?? "";
  const firstTerms = first === kept[0]?.text ? tokenised[0] : terms(first);
  return { statements, titleTerms: isShort(firstTerms.words, first) ? firstTerms.seq : [] };
}

function buildPassage(text: string, a: Analysis): PreparedPassage {
  const statements: PreparedStatement[] = [];
  const passageTerms = new Set<string>();
  a.statements.forEach((st, index) => {
    for (const term of st.seq) passageTerms.add(term);
    statements.push({
      text: st.text,
      index,
      terms: null,
      seq: st.seq,
      words: st.words,
      joined: false,
      start: st.start,
      end: st.end,
    });
    const next = a.statements[index + 1];
    if (!st.joinsNext || next === undefined) return;
    const seq = [...st.seq, ...next.seq];
    const range = st.start !== undefined && next.end !== undefined ? { start: st.start, end: next.end } : {};
    statements.push({
      text: `${st.text} ${next.text}`,
      index,
      terms: null,
      seq,
      words: st.words + next.words,
      joined: true,
      ...range,
    });
  });
  let allTerms: Set<string> | null = null;
  return {
    statements,
    terms: passageTerms,
    titleTerms: a.titleTerms,
    allTerms: () => {
      allTerms ??= a.otherTerms ? new Set([...passageTerms, ...a.otherTerms]) : new Set(terms(text).seq);
      return allTerms;
    },
  };
}

/**
 * A chunk's analysis as stored beside it at ingest (the collection index's `chunk_statements`):
 * compact JSON, `[version, titleTerms, [[text, stems, words, start, end, joinsNext], ...], otherTerms]`,
 * stems space-joined. `decodeAnalysis` returns null for another version (a chunk stored by an older
 * answerer is analysed afresh) or anything malformed.
 */
export function encodeAnalysis(text: string): string {
  const a = analysePassage(text);
  const held = new Set(a.statements.flatMap((s) => s.seq));
  const other = [...new Set(terms(text).seq)].filter((t) => !held.has(t));
  return JSON.stringify([
    ANALYSIS_VERSION,
    a.titleTerms.join(" "),
    a.statements.map((s) => [s.text, s.seq.join(" "), s.words, s.start ?? -1, s.end ?? -1, s.joinsNext ? 1 : 0]),
    other.join(" "),
  ]);
}

function decodeAnalysis(data: string): Analysis | null {
  try {
    const [version, title, rows, other] = JSON.parse(data) as [string, string, [string, string, number, number, number, number][], string];
    if (version !== ANALYSIS_VERSION || typeof title !== "string" || !Array.isArray(rows) || typeof other !== "string") return null;
    const split = (s: string) => (s ? s.split(" ") : []);
    return {
      titleTerms: split(title),
      otherTerms: split(other),
      statements: rows.map(([text, seq, words, start, end, joinsNext]) => ({
        text,
        seq: split(seq),
        words,
        ...(start >= 0 && end >= 0 ? { start, end } : {}),
        joinsNext: joinsNext === 1,
      })),
    };
  } catch {
    return null;
  }
}

/** Terms of document names, per isolate: a collection's names recur in every answer about it. */
const NAME_TERMS = new Map<string, string[]>();

/** Terms of a document's name without its extension ("war_and-peace.txt" → war, peace). */
function nameTerms(name: string): string[] {
  let t = NAME_TERMS.get(name);
  if (t === undefined) {
    t = terms(name.replace(/\.[a-z0-9]+$/i, "").replace(/[_-]+/g, " ")).seq;
    if (NAME_TERMS.size >= 4096) NAME_TERMS.clear();
    NAME_TERMS.set(name, t);
  }
  return t;
}

const now = () => performance.now();

/**
 * How tightly the matched query terms sit together: matched terms / length of the smallest window
 * holding one of each, in [0, 1]; 0 when fewer than two terms match.
 */
function proximity(seq: string[], query: string[]): number {
  const wanted = new Set(query);
  const positions: [number, string][] = [];
  seq.forEach((t, i) => {
    if (wanted.has(t)) positions.push([i, t]);
  });
  const kinds = new Set(positions.map((p) => p[1])).size;
  if (kinds < 2) return 0;
  let bestSpan = Number.POSITIVE_INFINITY;
  const count = new Map<string, number>();
  let have = 0;
  let lo = 0;
  for (let hi = 0; hi < positions.length; hi++) {
    const t = positions[hi][1];
    count.set(t, (count.get(t) ?? 0) + 1);
    if (count.get(t) === 1) have++;
    while (have === kinds) {
      bestSpan = Math.min(bestSpan, positions[hi][0] - positions[lo][0] + 1);
      const u = positions[lo][1];
      count.set(u, (count.get(u) ?? 0) - 1);
      if (count.get(u) === 0) have--;
      lo++;
    }
  }
  return kinds / bestSpan;
}

/** A statement read together with the one after it (as `buildPassage` joins a title and its value). */
function joinStatements(a: PreparedStatement, b: PreparedStatement): PreparedStatement {
  const seq = [...a.seq, ...b.seq];
  const range = a.start !== undefined && b.end !== undefined ? { start: a.start, end: b.end } : {};
  return { text: `${a.text} ${b.text}`, index: a.index, terms: null, seq, words: a.words + b.words, joined: true, ...range };
}

/** Two statements say the same thing (overlapping chunks, or a statement and its joined form). */
function overlaps(a: Statement, b: Statement): boolean {
  if (a.rank === b.rank && (a.index === b.index || (a.joined && b.index === a.index + 1) || (b.joined && a.index === b.index + 1)))
    return true;
  return jaccard(a.terms, b.terms) >= W.duplicateJaccard;
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
