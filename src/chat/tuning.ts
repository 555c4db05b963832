/**
 * Every tuning number of the answer path in one place, each with the reason for its value. The
 * extractive answerer's weights were set on the QA set's tune half (bench/answers-offline.mjs) and
 * are reported on the held-out half (docs/performance.md, "Answers"); change one, re-run both.
 */

/** History windows (turns: one user or assistant message each). */
export const HISTORY = {
  /** Turns a chat turn reads from its session: enough for any window below, one read. */
  sessionRead: 12,
  /** Turns an OpenAI-style request keeps of the messages it sends: the same as a session's read. */
  completionMessages: 12,
  /** Turns a language model sees (answer prompt and follow-up rewrite): keeps prompts far below a 24k-token context. */
  prompt: 6,
} as const;

/** The extractive answerer's weights (src/chat/answer/extractive.ts). */
export const EXTRACTIVE = {
  /**
   * Below this score no statement answers the question: the midpoint between the lowest score of
   * a right answer and the highest unanswerable score below it, on the tune half.
   */
  threshold: 0.49,
  /**
   * Statements ranked below this fraction of the best one are left out (a near-equal statement is a
   * competing answer: each one a reader must check). The smallest value at which the tune half's
   * citation precision peaks (0.8 → 96.4%, 0.9 → 100%) without losing a right answer there...
   */
  relativeCutoff: 0.9,
  /** ...unless they answer a part of the question the ones before leave open, down to this fraction. */
  minPart: 0.5,
  /** A part is "left open" when the new statement adds at least this share of the question's weight. */
  minGain: 0.15,
  /** Answers stay short: a reader checks each sentence against its span. */
  maxSentences: 3,
  maxChars: 700,
  /** Credit for a related noun ("birth" for "born"): a table says it that way as often as prose. */
  relatedCredit: 1,
  /** A term found only in the statement's context (document name, title) half counts: it is about the topic, not the claim. */
  contextCredit: 0.5,
  /** Words at most, unterminated: a title or a label, read together with the next statement. */
  shortWords: 8,
  /** Bonus per query word pair kept in order (at most two): phrases beat scattered words. */
  phraseBonus: 0.08,
  /** Weight of how tightly the matched terms sit (proximity in [0, 1]). */
  proximityBonus: 0.1,
  /** Small preferences for a passage's first statements and for better-ranked passages: tie-breakers only. */
  positionBonus: 0.03,
  rankBonus: 0.04,
  /** A statement without the kind of answer asked for keeps this floor of its score (a third, roughly). */
  typeFloor: 0.35,
  /** Headings and lone labels (under 3 words) rarely answer alone. */
  fewWordsFactor: 0.6,
  /** An introduction ("as follows:") without what it introduces. */
  introFactor: 0.7,
  /** Very long statements (over 60 words) are usually run-on tables or lists. */
  longWords: 60,
  longFactor: 0.85,
  /** A chunk that starts mid-sentence (its first statement in lower case) is a fragment. */
  fragmentFactor: 0.85,
  /** Two statements whose term sets overlap this much say the same thing (overlapping chunks). */
  duplicateJaccard: 0.8,
  /** A follow-on sentence ("It ...", "This ...") joins a lone answer only when it has this many words. */
  followOnWords: 4,
  /** Statements longer than this (characters) are cut at semicolons, then between words. */
  maxStatementChars: 600,
  /** An uncued capitalised word answers "who" fairly often and "where" seldom. */
  uncuedPerson: 0.6,
  uncuedPlace: 0.2,
  /** "How many caps": a number that does not count the asked noun fits half (it may still be the count, worded apart). */
  uncountedNumber: 0.5,
  /** Words allowed between a number and the noun it counts ("647 league appearances": one). */
  countedNounGap: 2,
} as const;

/** Claims: the support score and the quote locator (src/chat/claims/*). */
export const CLAIMS = {
  /**
   * A citation below this support does not make its sentence supported. Chosen on the QA set's
   * tune half (bench/answers-offline.mjs): the value whose "supported" best agrees with "its
   * citations cover the gold evidence" (71% there); reported on the held-out half in docs/performance.md.
   */
  supportThreshold: 0.35,
  /** Term weights of the support score: numbers and names carry a claim's facts. */
  numberWeight: 2,
  nameWeight: 1.5,
  termWeight: 1,
  /** A negation on one side only, or a number of the claim missing from the span, halves the score. */
  negationPenalty: 0.5,
  numberPenalty: 0.5,
  /** Bounded fuzzy match: at least this share of the quote's words, in order, within a window this much longer. */
  fuzzyMinShare: 0.8,
  fuzzyWindow: 1.5,
  /** Quotes shorter than this (characters) prove nothing and are not located. */
  minQuoteChars: 8,
} as const;
