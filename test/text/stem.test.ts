/**
 * The shared stemmer against SQLite's own: every word of a word list goes through an FTS5 table
 * with the keyword index's tokenizer (`porter unicode61 remove_diacritics 2`), and the term FTS5
 * stored for it (read back through `fts5vocab`) must equal `stem(word)`. The list is Porter's
 * reference examples plus every ASCII word of a real English document of the corpus (when
 * ../shared is present), so the local embedder, the answerer and the keyword index conflate the
 * same word forms.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ftsQuery } from "../../src/retrieval/collection-index/query";
import { FUNCTION_WORDS, isCjk, QUESTION_WORDS, STOPWORDS, stem, words } from "../../src/text";
import { available, bytesOf } from "../corpus";

const REFERENCE = (
  "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping tanned " +
  "falling hissing fizzed failing filing happy sky relational conditional rational valenci hesitanci digitizer conformabli " +
  "radicalli differentli vileli analogousli vietnamization predication operator feudalism decisiveness hopefulness " +
  "callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness " +
  "revival allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment dependent " +
  "adoption homologou communism activate angulariti homologous effective bowdlerize probate rate cease controll roll " +
  "generalizations proteins refund refunds refunded refunding policy policies founded founder born birth goals scored"
).split(" ");

/** SQLite's porter stem of each word: one row per word, read back per row through fts5vocab. */
async function sqliteStems(list: string[]): Promise<Map<string, string>> {
  const t = `stemcheck_${crypto.randomUUID().replace(/-/g, "")}`;
  await env.DB.batch([
    env.DB.prepare(`CREATE VIRTUAL TABLE ${t} USING fts5(w, tokenize = 'porter unicode61 remove_diacritics 2')`),
    env.DB.prepare(`CREATE VIRTUAL TABLE ${t}_v USING fts5vocab(${t}, 'instance')`),
  ]);
  try {
    for (let i = 0; i < list.length; i += 50) {
      const part = list.slice(i, i + 50);
      await env.DB.batch(part.map((w, j) => env.DB.prepare(`INSERT INTO ${t}(rowid, w) VALUES (?, ?)`).bind(i + j + 1, w)));
    }
    const rows = await env.DB.prepare(`SELECT term, doc FROM ${t}_v`).all<{ term: string; doc: number }>();
    return new Map(rows.results.map((r) => [list[r.doc - 1], r.term]));
  } finally {
    await env.DB.batch([env.DB.prepare(`DROP TABLE ${t}_v`), env.DB.prepare(`DROP TABLE ${t}`)]);
  }
}

describe("shared stemmer", () => {
  it("matches SQLite's porter tokenizer on Porter's reference words", async () => {
    const sqlite = await sqliteStems(REFERENCE);
    const mismatches = REFERENCE.filter((w) => sqlite.get(w) !== stem(w)).map((w) => `${w}: ours ${stem(w)}, sqlite ${sqlite.get(w)}`);
    expect(mismatches).toEqual([]);
    expect(stem("policies")).toBe(stem("policy"));
    expect(stem("founded")).toBe(stem("founding"));
  });

  (available ? it : it.skip)("matches SQLite's porter tokenizer on every ASCII word of a real English document", async () => {
    const text = new TextDecoder().decode(await bytesOf("text/unstructured__norwich-city.txt"));
    const list = [...new Set(words(text).filter((w) => /^[a-z]+$/.test(w)))];
    expect(list.length).toBeGreaterThan(1000);
    const sqlite = await sqliteStems(list);
    const mismatches = list.filter((w) => sqlite.get(w) !== stem(w)).map((w) => `${w}: ours ${stem(w)}, sqlite ${sqlite.get(w)}`);
    expect(mismatches).toEqual([]);
  });
});

describe("shared tokens and stopwords", () => {
  it("splits words in any script, lower-cased and NFKC-normalised", () => {
    expect(words("Ｆｕｌｌ-width CAFÉ naïve 2004 Ωμέγα")).toEqual(["full", "width", "café", "naïve", "2004", "ωμέγα"]);
    expect(isCjk("東京")).toBe(true);
    expect(isCjk("한국어")).toBe(true);
    expect(isCjk("Tokyo")).toBe(false);
  });

  it("keyword queries drop the shared stopwords but keep a query made only of them", () => {
    expect(ftsQuery("What is the role of the United States Trustee?")).toBe('"role" OR "united" OR "states" OR "trustee"');
    expect(ftsQuery("to be or not to be")).toBe('"to" OR "be" OR "or" OR "not"');
    for (const w of ["the", "which"]) expect(STOPWORDS.has(w)).toBe(true);
    // Words that mean something in a query ("during pregnancy") are kept by keyword search but
    // ignored by the embedder and the answerer; FUNCTION_WORDS holds every STOPWORD.
    for (const w of ["during", "more", "however"]) expect([STOPWORDS.has(w), FUNCTION_WORDS.has(w)]).toEqual([false, true]);
    for (const w of STOPWORDS) expect(FUNCTION_WORDS.has(w)).toBe(true);
    expect(ftsQuery("bleeding during pregnancy")).toBe('"bleeding" OR "during" OR "pregnancy"');
    for (const w of ["document", "explain"]) expect(QUESTION_WORDS.has(w)).toBe(true);
  });
});
