/**
 * What kind of answer a question expects, and whether a statement holds one: who → a name,
 * when → a date or year, where → a place, how many / how much → a number. Questions in English,
 * German, French, Spanish, Chinese, Japanese and Korean are recognised by their question words;
 * anything else is "other" (no preference).
 */
import { FUNCTION_WORDS } from "../../text";
import { EXTRACTIVE } from "../tuning";

export type AnswerType = "person" | "date" | "place" | "number" | "name" | "other";

const TYPES: [AnswerType, RegExp][] = [
  // Order matters: "how many years" asks for a number, "what year" for a date.
  [
    "number",
    /\b(?:how (?:many|much|long|far|old|tall|high|big)|what (?:is|was) the (?:price|cost|number|amount|population)|wie (?:viel|viele|lange|alt)|combien|cu[aá]nt[oa]s?|ile)\b|多少|几个|幾つ|いくつ|何人|何個|いくら|몇|얼마/i,
  ],
  [
    "date",
    /\b(?:when|what (?:date|year|day|month|time)|which (?:date|year|day)|in (?:what|which) year|on what (?:date|day)|since when|wann|quand|quel (?:jour|an|mois)|cu[aá]ndo|kiedy)\b|何年|哪一年|哪年|什么时候|何时|いつ|언제/i,
  ],
  [
    "place",
    /\b(?:where|what (?:city|country|place|town|state)|in which (?:city|country|place|town|state)|wo|woher|o[uù]|d[oó]nde)\b|哪里|哪儿|どこ|어디/i,
  ],
  ["person", /\b(?:who|whom|whose|which (?:person|company|organi[sz]ation)|wer|qui|qui[eé]n)\b|谁|誰|누구/i],
];

/** "What is X?" / "What are X?" / "Was ist X?": the X, when the question asks what something is. */
export function definitionSubject(question: string): string | null {
  const m = /^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(.{2,60}?)\s*\??\s*$/i.exec(question);
  if (m) return m[1].split(/\s+/).length > 5 ? null : m[1];
  // The same question in Chinese and Japanese: "X是什么？", "什么是X？", "Xとは(何ですか)？".
  const cjk =
    /^\s*(?:什么是|什麼是)\s*(.{1,30}?)\s*[？?]?\s*$|^\s*(.{1,30}?)\s*(?:是什么|是什麼|とは(?:何ですか|なんですか)?)\s*[？?]?\s*$/u.exec(
      question,
    );
  return cjk ? (cjk[1] ?? cjk[2]) : null;
}

/** The pattern of a definition of `subject` ("X is a ...", "X are ...", "X: ...", "X (...)", "X, a ..."): built once per question. */
export function definitionMatcher(subject: string): RegExp {
  const esc = subject.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // "X is/was" defines X only as the statement's subject ("when X was a subpackage", "an insight of X
  // is ..." are about something else) and only with a class noun after it ("X is a framework", not
  // "X is helpful": a property is not what X is).
  const copula = `^(?:(?:the|an?)\\s+)?${esc}\\s+(?:(?:is|was)\\s+(?:an?|the|one)\\b|are\\b|were\\b)`;
  // Full-width brackets and colons and "是"/"とは" are the same patterns in CJK text ("DNC（可微神经计算机）").
  return new RegExp(`${copula}|${esc}(?:\\s*[:(：（]|,\\s+(?:an?|the)\\b|\\s*(?:是|とは|は、))`, "i");
}

/** How well a statement defines the subject: 1 when it matches the definition pattern, else 0.6. */
export function definitionFit(definition: RegExp, statement: string): number {
  return definition.test(statement) ? 1 : 0.6;
}

/** The answer types a question asks for ("Who founded Microsoft, and when?" asks two), or ["other"]. */
export function answerTypes(question: string): AnswerType[] {
  const found: AnswerType[] = [];
  for (const [type, re] of TYPES) if (re.test(question)) found.push(type);
  // "how many years" asks for a number, not a date.
  if (found.includes("number") && found.includes("date") && !/\b(?:when|wann|quand|cu[aá]ndo)\b|いつ|언제/i.test(question))
    found.splice(found.indexOf("date"), 1);
  if (found.length) return found;
  // "Which act ...", "which retrieval system ...": picks out one named thing (a title, a model, a
  // version), not a description; English only (German capitalises every noun).
  return WHICH.test(question) ? ["name"] : ["other"];
}

const MONTH =
  "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)";
const DATE = new RegExp(
  `\\b(?:1[0-9]{3}|20[0-9]{2})\\b|\\b\\d{1,2}\\.\\d{1,2}\\.\\d{2,4}\\b|\\b\\d{4}-\\d{2}-\\d{2}\\b|\\b${MONTH}\\b\\.?\\s*\\d|\\d\\s*${MONTH}\\b|\\d+\\s*(?:年|월|月)|\\b\\d+\\s*(?:business\\s+|working\\s+)?(?:days?|weeks?|months?|years?|hours?|minutes?)\\b|\\d+\\s*(?:日|週間?|か月|ヶ月|時間|天|周|小时|일|주)|\\b\\d{1,2}(?::\\d{2})?\\s*(?:am|pm|a\\.m\\.|p\\.m\\.)|\\b\\d{1,2}:\\d{2}\\b|\\b(?:noon|midnight|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|weekdays?|weekends?|daily|weekly|monthly|annually|yearly)\\b|\\d+\\s*(?:時|点|시)`,
  "iu",
);
const NUMBER =
  /\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)\b|[一二三四五六七八九十百千万億]/iu;
/** A capitalised word that does not start the statement (a name, a place). */
const PROPER = /(?<=[\s,(“"'])\p{Lu}[\p{Ll}\p{M}'’-]+/u;
/** A capitalised name after a place cue: "born in Bangor", "Place of birth Bangor", "Headquarters: One Microsoft Way, Redmond". */
const PLACE = cued("in|at|from|near|to|of birth|place of birth|birthplace|headquarters|located|based|à|aus|bei|en|dans", "(?:the\\s+)?");
/** A name after a cue for a person or organisation: "founded by Bill Gates", "Founders: Bill Gates", "CEO Satya Nadella". */
const PERSON = cued("by|founder|founders|founded by|ceo|president|chairman|director|author|written by|von|par|por", "");

/** "Label: Name" where the label's words say what the name is (form fields, infobox rows, "Header: value" table cells). */
const PLACE_LABEL = labelled("state|country|city|town|jurisdiction|location|place|address|headquarters|region|province|birthplace");
const PERSON_LABEL = labelled("founders?|author|owner|director|president|ceo|chairman|manager|editor");

/** No `i` flag: with it, `\p{Lu}` would match lower case too; the label words match in either case. */
function labelled(words: string): RegExp {
  const anyCase = words.replace(/\p{L}/gu, (ch) => `[${ch.toLowerCase()}${ch.toUpperCase()}]`);
  return new RegExp(`(?:^|;\\s*)[^:;]{0,80}(?<![\\p{L}])(?:${anyCase})(?![\\p{L}])[^:;]{0,80}:\\s*(\\p{Lu}[\\p{L}\\p{M}'’.-]+)`, "gu");
}

/** `cue name`: the cue in any case (labels are capitalised), the name capitalised (group 1). */
function cued(cues: string, between: string): RegExp {
  const anyCase = cues
    .split("|")
    .map((c) => c.replace(/^\p{L}/u, (ch) => `[${ch.toLowerCase()}${ch.toUpperCase()}]`))
    .join("|");
  return new RegExp(`(?<![\\p{L}])(?:${anyCase})(?![\\p{L}])[:\\s]+${between}(\\p{Lu}[\\p{L}\\p{M}'’.-]+)`, "gu");
}
/** The question in lower case, kept for the statements of one answer (the same question is asked of each). */
let lastQuestion = "";
let lastLower = "";
function lowerOf(question: string): string {
  if (question !== lastQuestion) {
    lastQuestion = question;
    lastLower = question.toLowerCase();
  }
  return lastLower;
}
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * How well a statement fits the expected answer type: 1 (holds a candidate), 0 (holds none).
 * `question` is used to ignore candidates the question itself already names.
 */
export function typeFit(types: AnswerType[], statement: string, question: string): number {
  return types.reduce((s, t) => s + fitOne(t, statement, question), 0) / types.length;
}

/** The asked types a statement fully answers (a cued name for who, a date for when ...). */
export function typesMet(types: AnswerType[], statement: string, question: string): AnswerType[] {
  return types.filter((t) => t !== "other" && fitOne(t, statement, question) === 1);
}

/** The noun "how many" / "how much" asks about ("how many league appearances" → "appearances"), lower case. */
function countedNoun(question: string): RegExp | null {
  // The last word before the verb: "how many league appearances did ..." → "appearances".
  const m = /\bhow (?:many|much) (?:[a-z-]+ )?([a-z-]{3,}) (?:did|do|does|is|are|was|were|has|have|had|can|could|will|would|should)\b/.exec(
    question,
  );
  if (!m) return null;
  // Its stem, so "cap" matches "caps" and "appearance" "appearances".
  const stem = m[1].replace(/(?:es|s)$/, "").slice(0, Math.max(3, m[1].length - 3));
  return new RegExp(`^[\\s\\p{P}]*(?:\\S+\\s+){0,${EXTRACTIVE.countedNounGap}}?${stem.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}`, "iu");
}

/** True when the number at `at` is followed within a few words by the counted noun ("fifteen caps", "647 league appearances"). */
function countsNoun(statement: string, at: number, noun: RegExp): boolean {
  const after = statement.slice(at).replace(/^[\p{L}\p{N}.,]+/u, "");
  // Only the text right after the number can hold it (a few words): the slice bounds the regex's work.
  return noun.test(after.slice(0, 60));
}

const WHICH = /^\s*(?:(?:in|on|at|of|from|for|to|by|with)\s+)?which\s+\p{L}/iu;
/** A named thing: a capitalised word or an identifier ("BM25", "GPT-4") not starting the statement, or a number ("5.3"). */
const NAME_ALL = /(?<=[\s,(“"'‘])\p{Lu}[\p{L}\p{M}\p{N}'’.-]*|\p{N}+(?:[.,]\p{N}+)*/gu;

const DATE_ALL = new RegExp(DATE.source, "giu");
const NUMBER_ALL = new RegExp(NUMBER.source, "giu");
const PROPER_ALL = new RegExp(PROPER.source, "gu");

/**
 * A capitalised word that names something the question does not: the question's own name in the
 * possessive ("Mozilla's") is not new, nor is a function word capitalised at the start of a quote
 * or a line ("The", "This").
 */
function freshName(word: string, question: string): boolean {
  const w = word.replace(/['’]s$/u, "").toLowerCase();
  return !FUNCTION_WORDS.has(w) && !question.includes(w);
}

function fitOne(type: AnswerType, statement: string, question: string): number {
  if (type === "other") return 1;
  const q = lowerOf(question);
  const fresh = (match: RegExpMatchArray | null) => match !== null && !q.includes(match[0].toLowerCase());
  switch (type) {
    case "date":
      for (const m of statement.matchAll(DATE_ALL)) if (fresh(m)) return 1;
      return 0;
    case "number": {
      const counted = countedNoun(q);
      let any = false;
      for (const m of statement.matchAll(NUMBER_ALL))
        if (fresh(m)) {
          if (counted === null || countsNoun(statement, m.index as number, counted)) return 1;
          any = true;
        }
      // "How many caps": a number that does not count caps ("2004–2005 Gillingham 20 (3)") is a weaker candidate.
      return any ? EXTRACTIVE.uncountedNumber : 0;
    }
    case "name":
      if (CJK.test(statement)) return 1; // no capitals to look for
      for (const m of statement.matchAll(NAME_ALL)) if (freshName(m[0], q)) return 1;
      return 0;
    case "person":
    case "place": {
      if (CJK.test(statement)) return 1; // no capitals to look for
      // A labelled value whose label names the kind asked for ("State of incorporation: Nevada").
      const label = type === "place" ? PLACE_LABEL : PERSON_LABEL;
      if ([...statement.matchAll(label)].some((m) => !q.includes(m[1].toLowerCase()))) return 1;
      const cued = [...statement.matchAll(type === "place" ? PLACE : PERSON)].some((m) => !q.includes(m[1].toLowerCase()));
      if (cued) return 1;
      // A name without a cue: often a person, seldom the place asked for.
      let named = false;
      for (const m of statement.matchAll(PROPER_ALL))
        if (freshName(m[0], q)) {
          named = true;
          break;
        }
      return named ? (type === "person" ? EXTRACTIVE.uncuedPerson : EXTRACTIVE.uncuedPlace) : 0;
    }
  }
}

/**
 * Nouns a statement uses where a question uses the verb ("Place of birth" for "where was ... born",
 * "Founders" for "who founded"): infoboxes and tables are written that way. Stems, both directions.
 */
const RELATED: [string, string[]][] = [
  ["born", ["birth"]],
  ["die", ["death"]],
  ["found", ["founder"]],
  ["headquart", ["headquart", "locat", "base"]],
  ["locat", ["headquart"]],
  ["write", ["author", "writer"]],
  ["author", ["write", "writer"]],
  ["marri", ["spous"]],
  ["cost", ["price"]],
  ["price", ["cost"]],
  ["ceo", ["chief", "execut"]],
  ["live", ["resid", "address"]],
];
const RELATED_MAP = new Map(RELATED);

/** Related stems of a query stem (the stem itself excluded). */
export function relatedStems(stem: string): string[] {
  return RELATED_MAP.get(stem) ?? [];
}
