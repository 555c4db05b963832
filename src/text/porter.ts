/**
 * The Porter (1980) stemmer for lower-case English words, as in SQLite's `porter` tokenizer, so
 * that the local embedder and the keyword index conflate the same word forms.
 */

const isVowelAt = (w: string, i: number): boolean => {
  const c = w.charCodeAt(i);
  if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117) return true;
  // "y" is a vowel after a consonant ("happy"), a consonant at the start or after a vowel ("yes", "toy").
  return c === 121 && i > 0 && !isVowelAt(w, i - 1);
};

/** m in [C](VC)^m[V] of w[0, end). */
function measure(w: string, end: number): number {
  let m = 0;
  let i = 0;
  while (i < end && !isVowelAt(w, i)) i++;
  while (i < end) {
    while (i < end && isVowelAt(w, i)) i++;
    if (i >= end) break;
    while (i < end && !isVowelAt(w, i)) i++;
    m++;
  }
  return m;
}

function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowelAt(w, i)) return true;
  return false;
}

function doubleConsonant(w: string, end: number): boolean {
  return end >= 2 && w.charCodeAt(end - 1) === w.charCodeAt(end - 2) && !isVowelAt(w, end - 1);
}

/** *o: w[0, end) ends consonant-vowel-consonant, the last not w, x or y. */
function cvc(w: string, end: number): boolean {
  if (end < 3 || isVowelAt(w, end - 1) || !isVowelAt(w, end - 2) || isVowelAt(w, end - 3)) return false;
  const c = w.charCodeAt(end - 1);
  return c !== 119 && c !== 120 && c !== 121;
}

type Rule = [suffix: string, replacement: string];

const STEP2: Rule[] = [
  ["ational", "ate"],
  ["tional", "tion"],
  ["enci", "ence"],
  ["anci", "ance"],
  ["izer", "ize"],
  ["bli", "ble"],
  ["alli", "al"],
  ["entli", "ent"],
  ["eli", "e"],
  ["ousli", "ous"],
  ["ization", "ize"],
  ["ation", "ate"],
  ["ator", "ate"],
  ["alism", "al"],
  ["iveness", "ive"],
  ["fulness", "ful"],
  ["ousness", "ous"],
  ["aliti", "al"],
  ["iviti", "ive"],
  ["biliti", "ble"],
  ["logi", "log"],
];
const STEP3: Rule[] = [
  ["icate", "ic"],
  ["ative", ""],
  ["alize", "al"],
  ["iciti", "ic"],
  ["ical", "ic"],
  ["ful", ""],
  ["ness", ""],
];
const STEP4 = [
  "al",
  "ance",
  "ence",
  "er",
  "ic",
  "able",
  "ible",
  "ant",
  "ement",
  "ment",
  "ent",
  "ion",
  "ou",
  "ism",
  "ate",
  "iti",
  "ous",
  "ive",
  "ize",
];

/** Replaces the first matching suffix when the stem before it has measure > `minM`. */
function applyRules(w: string, rules: Rule[], minM: number): string {
  for (const [suffix, rep] of rules) {
    if (w.endsWith(suffix)) {
      const stem = w.length - suffix.length;
      return measure(w, stem) > minM ? w.slice(0, stem) + rep : w;
    }
  }
  return w;
}

export function porterStem(word: string): string {
  let w = word;
  if (w.length <= 2) return w;

  // Step 1a: plurals.
  if (w.endsWith("sses") || w.endsWith("ies")) w = w.slice(0, -2);
  else if (w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);

  // Step 1b: -eed, -ed, -ing.
  // SQLite tests -eed only on words longer than it ("eed" itself then loses its -ed, like "feed" does not).
  if (w.endsWith("eed") && w.length > 3) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1);
  } else {
    const cut = w.endsWith("ed") ? 2 : w.endsWith("ing") ? 3 : 0;
    if (cut > 0 && hasVowel(w, w.length - cut)) {
      w = w.slice(0, -cut);
      if (w.endsWith("at") || w.endsWith("bl") || w.endsWith("iz")) w += "e";
      else if (doubleConsonant(w, w.length) && !/[lsz]$/.test(w)) w = w.slice(0, -1);
      else if (measure(w, w.length) === 1 && cvc(w, w.length)) w += "e";
    }
  }

  // Step 1c: y -> i after a vowel somewhere in the stem.
  if (w.endsWith("y") && hasVowel(w, w.length - 1)) w = `${w.slice(0, -1)}i`;

  w = applyRules(w, STEP2, 0);
  w = applyRules(w, STEP3, 0);

  // Step 4: drop a suffix when the stem keeps measure > 1 (-ion only after s or t). Only the first
  // suffix that matches counts, so -ement and -ment come before -ent in the list.
  for (const suffix of STEP4) {
    if (w.endsWith(suffix)) {
      const stem = w.length - suffix.length;
      const ok = suffix !== "ion" || (stem > 0 && (w[stem - 1] === "s" || w[stem - 1] === "t"));
      if (ok && measure(w, stem) > 1) w = w.slice(0, stem);
      break;
    }
  }

  // Step 5: final -e, and -ll.
  if (w.endsWith("e")) {
    const m = measure(w, w.length - 1);
    if (m > 1 || (m === 1 && !cvc(w, w.length - 1))) w = w.slice(0, -1);
  }
  if (w.endsWith("ll") && measure(w, w.length) > 1) w = w.slice(0, -1);
  return w;
}
