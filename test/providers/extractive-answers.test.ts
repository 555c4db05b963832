/**
 * The extractive answerer on the kinds of text that let the first version down (issue 13): infobox
 * debris and reference lists around the answer, a title followed by its date, "Label Value" rows,
 * Markdown tables, multi-part questions; and its building blocks (question types, boilerplate,
 * statements).
 */
import { describe, expect, it } from "vitest";
import { ExtractiveAnswerer } from "../../src/chat/answer/extractive";
import { answerTypes, definitionMatcher, definitionSubject, typeFit } from "../../src/chat/answer/question";
import { isBoilerplate, splitSentences, splitStatements, terms } from "../../src/chat/answer/text";
import { NO_ANSWER } from "../../src/chat/answer/types";
import { source } from "./helpers";

const answerer = new ExtractiveAnswerer();
const ask = (query: string, sources: ReturnType<typeof source>[]) => answerer.answerSync({ query, sources });

const NORWICH = [
  "Iwan Roberts",
  "Roberts celebrating after scoring a goal for Norwich City",
  "in 2004",
  "Personal information",
  "Full name Iwan Wyn Roberts",
  "Date of birth 26 June 1968",
  "Place of birth Bangor, Wales",
  "Height 6 ft 3 in (1.91 m)",
  "Position(s) Forward",
  "Senior career*",
  "Years Team Apps (Gls)",
  "1996–1997 Wolverhampton Wanderers 33 (12)",
  "1997–2004 Norwich City 278 (84)",
  "Toggle the table of contents",
  "Iwan Roberts",
  "Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who",
  "played as a forward from 1986 to 2005 for a number of clubs and the Wales national team.",
].join("\n");
const NORWICH_REFS = [
  '"Tales from the City: Iwan Roberts" (h ttps://norwichcity.myfootballwriter.com/2020/05/12/tales-from-the-city-iwan-roberts/).',
  "^ Roberts, Iwan (2004). All I Want for Christmas. ISBN 978-0-9547838-0-2.",
  "https://www.soccerbase.com/players/player.sd?player_id=6784",
].join("\n");

describe("question types", () => {
  it("maps question words to the expected answer type, in several languages", () => {
    expect(answerTypes("Who founded Microsoft?")).toEqual(["person"]);
    expect(answerTypes("When was Microsoft founded?")).toEqual(["date"]);
    expect(answerTypes("On what date was The Crazy Ones written?")).toEqual(["date"]);
    expect(answerTypes("Where was Iwan Roberts born?")).toEqual(["place"]);
    expect(answerTypes("How many caps did he win?")).toEqual(["number"]);
    expect(answerTypes("How many years did he play?")).toEqual(["number"]);
    expect(answerTypes("Who founded Microsoft, and when?").sort()).toEqual(["date", "person"]);
    expect(answerTypes("Wann wurde es veröffentlicht?")).toEqual(["date"]);
    expect(answerTypes("Combien de députés ont voté pour ?")).toEqual(["number"]);
    expect(answerTypes("谷歌在哪一年收购了DeepMind？")).toEqual(["date"]);
    expect(answerTypes("三木英子はどこに住んでいますか？")).toEqual(["place"]);
    expect(answerTypes("What is LayoutParser?")).toEqual(["other"]);
  });

  it("checks that a statement holds a candidate of that type the question does not already name", () => {
    const q = "Where was Iwan Roberts born?";
    expect(typeFit(["place"], "Place of birth Bangor, Wales", q)).toBe(1);
    expect(typeFit(["place"], "Iwan Roberts was born in Bangor, Gwynedd.", q)).toBe(1);
    expect(typeFit(["place"], "Roberts is remembered by Norwich fans.", q)).toBeLessThan(0.5);
    expect(typeFit(["date"], "The Crazy Ones October 14, 1998", "On what date was The Crazy Ones written?")).toBe(1);
    expect(typeFit(["date"], "Here's to the crazy ones.", "On what date was The Crazy Ones written?")).toBe(0);
    expect(typeFit(["person"], "Founders: Bill Gates Paul Allen", "Who founded Microsoft?")).toBe(1);
    // A labelled value whose label says what it is, not a capitalised word anywhere.
    const state = "In which state is Galaxy Gaming incorporated?";
    expect(
      typeFit(["place"], "State or other jurisdiction of incorporation or organization: Nevada; IRS Employer No.: 20-8143439", state),
    ).toBe(1);
    expect(typeFit(["place"], "Exact name of issuer: Galaxy Gaming, Inc.", state)).toBeLessThan(0.5);
    expect(typeFit(["place"], "Statement: nevada is lower case here", state)).toBe(0);
    expect(typeFit(["number"], "He won fifteen caps.", "How many caps did he win?")).toBe(1);
    // "when" is also answered by a time of day, a weekday or a duration.
    expect(typeFit(["date"], "The Lisbon office opens at 9am on weekdays.", "When does the Lisbon office open?")).toBe(1);
    expect(typeFit(["date"], "Refunds are issued within 5 business days.", "When are refunds issued?")).toBe(1);
  });
});

describe("counted nouns and definitions", () => {
  it("prefers a number that counts what 'how many' asks about", () => {
    const q = "How many caps did Iwan Roberts win for Wales?";
    expect(typeFit(["number"], "He amassed fifteen caps between 1989 and 2001.", q)).toBe(1);
    expect(typeFit(["number"], "2004–2005 Gillingham 20 (3) Iwan Roberts", q)).toBe(0.5);
    expect(typeFit(["number"], "Roberts made 647 league appearances.", "How many league appearances did Roberts make?")).toBe(1);
    expect(typeFit(["number"], "No count here at all.", q)).toBe(0);
  });

  it("recognises 'what is X' in Chinese and Japanese and their full-width definition patterns", () => {
    expect(definitionSubject("DNC是什么？")).toBe("DNC");
    expect(definitionSubject("什么是DNC?")).toBe("DNC");
    expect(definitionSubject("DNCとは何ですか？")).toBe("DNC");
    expect(definitionSubject("Who won the cup in 2018?")).toBeNull();
    const m = definitionMatcher("DNC");
    expect(m.test("这款名为DNC（可微神经计算机）的AI模型")).toBe(true);
    expect(m.test("DeepMind希望DNC可以推动计算行业实现更多突破。")).toBe(false);
  });
});

describe("boilerplate", () => {
  it("drops navigation, references, bare URLs and number-heavy lines", () => {
    for (const s of [
      "Toggle the table of contents",
      "Jump to content Main menu move to sidebar hide",
      "1997–2004 Norwich City 278 (84)",
      "2004 2005 2006 12 14 (3) 7 (1)",
      "https://www.soccerbase.com/players/player.sd?player_id=6784",
      '"Tales from the City: Iwan Roberts" (h ttps://norwichcity.myfootballwriter.com/2020/05/12/tales-from-the-city).',
      "^ Roberts, Iwan (2004). All I Want for Christmas. ISBN 978-0-9547838-0-2.",
      "Retrieved 12 May 2020.",
      "Home News Sport Weather Travel Culture Business Music Video Radio",
      // RFC-style page furniture: the running footer and header.
      "de Jong [Page 12]",
      "Internet-Draft remoteStorage December 2014",
      "RFC 9110 HTTP Semantics June 2022",
    ]) {
      expect(isBoilerplate(s), s).toBe(true);
    }
    for (const s of [
      "Place of birth Bangor, Wales",
      "Microsoft was founded by Bill Gates and Paul Allen on April 4, 1975.",
      "The Crazy Ones October 14, 1998",
      "Item: Juicy Apples; Price: 1.99; # In stock: 739",
      "This Internet-Draft will expire on 15 December 2014.",
    ]) {
      expect(isBoilerplate(s), s).toBe(false);
    }
  });
});

describe("statements", () => {
  it("keeps short unterminated lines (infobox rows) apart and joins wrapped prose", () => {
    const s = splitSentences(NORWICH);
    expect(s).toContain("Place of birth Bangor, Wales");
    expect(s).toContain("Date of birth 26 June 1968");
    expect(s).toContain(
      "Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who played as a forward from 1986 to 2005 for a number of clubs and the Wales national team.",
    );
  });

  it("turns table rows into 'Header: value' statements and drops footnote markers, not tldr's [c]", () => {
    expect(splitSentences("Item | Price | # In stock\n---|---|---\nJuicy Apples | 1.99 | 739\nBananas | 1.89 | 6")).toEqual([
      "Item: Juicy Apples; Price: 1.99; # In stock: 739",
      "Item: Bananas; Price: 1.89; # In stock: 6",
    ]);
    expect(splitSentences("Founded | April 4, 1975\nFounders | Bill Gates Paul Allen")).toEqual([
      "Founded: April 4, 1975",
      "Founders: Bill Gates Paul Allen",
    ]);
    // Form layout: the caption in parentheses under each value (SEC cover pages).
    expect(
      splitSentences(
        "Nevada | 20-8143439\n(State or other jurisdiction of incorporation or organization) | (IRS Employer Identification No.)\n" +
          "6480 Cameron Street Ste. 305 – Las Vegas, NV 89118\n(Address of principal executive offices)\n(702) 939-3254\n(Registrant’s telephone number)",
      ),
    ).toEqual([
      "State or other jurisdiction of incorporation or organization: Nevada; IRS Employer Identification No.: 20-8143439",
      "Address of principal executive offices: 6480 Cameron Street Ste. 305 – Las Vegas, NV 89118",
      "Registrant’s telephone number: (702) 939-3254",
    ]);
    // A parenthesised remark under a sentence is not a caption of it.
    for (const remark of ["(see the annual report)", "(Figures are unaudited and may change.)"])
      expect(splitSentences(`The fund grew by 4% in 2020 while the index fell sharply.\n${remark}`)[0]).toBe(
        "The fund grew by 4% in 2020 while the index fell sharply.",
      );
    expect(splitSentences("He was born in Bangor, Gwynedd,[1] and grew up in Barmouth.[2]")).toEqual([
      "He was born in Bangor, Gwynedd, and grew up in Barmouth.",
    ]);
    expect(splitSentences("- Lis[t] the contents of a tar [f]ile [v]erbosely:")).toEqual([
      "Lis[t] the contents of a tar [f]ile [v]erbosely:",
    ]);
  });
});

describe("statement ranges", () => {
  it("gives each statement the passage range it was read from: wrapped lines, bullets, rows and captions", () => {
    const text =
      "  Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who\r\nplayed as a forward. He retired in 2005.\n\n- first item\n- second item[1]\n\n" +
      "Nevada | 20-8143439\n(State of incorporation) | (IRS Employer No.)\nItem | Price\n---|---\nBananas | 1.89";
    const s = splitStatements(text);
    const at = (i: number) => text.slice(s[i].start, s[i].end);
    expect(s.map((x) => x.text)).toEqual([
      "Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who played as a forward.",
      "He retired in 2005.",
      "first item",
      "second item",
      "State of incorporation: Nevada; IRS Employer No.: 20-8143439",
      "Item: Bananas; Price: 1.89",
    ]);
    expect(at(0)).toBe("Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who\r\nplayed as a forward.");
    expect(at(1)).toBe("He retired in 2005.");
    expect(at(2)).toBe("first item");
    // The quote is the source's own text: its footnote marker stays in the range.
    expect(at(3)).toBe("second item[1]");
    expect(at(4)).toBe("Nevada | 20-8143439\n(State of incorporation) | (IRS Employer No.)");
    expect(at(5)).toBe("Bananas | 1.89");
    expect(s[5].record).toBe(true);
  });

  it("cites the extractive answer's statement at its exact range", () => {
    const text = "Intro line here.\nThe standing trustee\nmust file a report every   year. Other things happen.";
    const r = answerer.answerSync({
      query: "How often must the standing trustee file a report?",
      sources: [source(1, "handbook.txt", text)],
    });
    expect(r.sentences?.[0].quotes[0]).toMatchObject({ n: 1 });
    const q = r.sentences?.[0].quotes[0];
    expect(text.slice(q?.start, q?.end)).toBe("The standing trustee\nmust file a report every   year.");
  });
});

describe("answers", () => {
  it("answers 'Where was Iwan Roberts born?' from the infobox, without debris or references", () => {
    const r = ask("Where was Iwan Roberts born?", [
      source(1, "unstructured__norwich-city.txt", NORWICH),
      source(2, "unstructured__norwich-city.txt", NORWICH_REFS),
    ]);
    expect(r.answer).toContain("Bangor");
    expect(r.answer).not.toMatch(/Toggle|Wanderers|https?:|ttps|ISBN/);
    expect(r.citations).toEqual([1]);
  });

  it("answers 'On what date was The Crazy Ones written?' with the date under the title", () => {
    const text =
      "The Crazy Ones\nOctober 14, 1998\nHeres to the crazy ones. The misfits. The rebels. The troublemakers.\n" +
      "The round pegs in the square holes.\nThe ones who see things differently. Theyre not fond of rules.";
    const r = ask("On what date was The Crazy Ones written?", [source(1, "pypdf__crazyones.pdf", text)]);
    expect(r.answer).toContain("October 14, 1998 [1]");
  });

  it("answers both parts of 'Who founded Microsoft, and when?'", () => {
    const infobox =
      "Microsoft Corporation\nCompany type | Public\nFounded | April 4, 1975 in Albuquerque, New Mexico, U.S.\nFounders | Bill Gates Paul Allen\nHeadquarters | One Microsoft Way, Redmond, Washington, U.S.";
    const history =
      "In 2004, Microsoft commissioned research firms to do independent studies comparing the total cost of ownership of Windows Server 2003 to Linux. " +
      '"Embrace, extend, and extinguish" is a phrase that the U.S. Department of Justice found that was used internally by Microsoft.';
    const r = ask("Who founded Microsoft, and when?", [
      source(1, "markitdown__test_wikipedia.html", history),
      source(2, "markitdown__test_wikipedia.html", infobox),
    ]);
    expect(r.answer).toContain("Bill Gates");
    expect(r.answer).toContain("1975");
    expect(r.citations).toContain(2);
    expect(r.answer.match(/\[\d\]/g)?.length).toBeLessThanOrEqual(3);
  });

  it("reads a Markdown table row as a statement", () => {
    const r = ask("How much do Juicy Apples cost?", [
      source(1, "simple-table.md", "Item | Price | # In stock\n---|---|---\nJuicy Apples | 1.99 | 739\nBananas | 1.89 | 6"),
    ]);
    expect(r.answer).toBe("Item: Juicy Apples; Price: 1.99; # In stock: 739 [1].");
  });

  it("answers from a form whose captions sit under the values (a 10-K cover page)", () => {
    const cover =
      "Commission file number: 000-30653\n\nGalaxy Gaming, Inc.\n\n(Exact name of small business issuer as specified in its charter)\n\n" +
      "Nevada | 20-8143439\n(State or other jurisdiction of incorporation or organization) | (IRS Employer Identification No.)\n" +
      "6480 Cameron Street Ste. 305 – Las Vegas, NV 89118\n(Address of principal executive offices)";
    const r = ask("In which state is Galaxy Gaming incorporated?", [source(1, "example-10k.html", cover)]);
    expect(r.answer).toContain("incorporation or organization: Nevada");
    expect(r.citations).toEqual([1]);
  });

  it("quotes the command an instruction introduces", () => {
    const tldr =
      "- Lis[t] the contents of a tar [f]ile [v]erbosely:\n\n`tar tvf {{path/to/source.tar}}`\n\n- E[x]tract a (compressed) archive [f]ile into the current directory [v]erbosely:\n\n`tar xvf {{path/to/source.tar}}`";
    expect(ask("How do I list the contents of a tar file?", [source(1, "tldr__en__tar.md", tldr)]).answer).toContain("`tar tvf");
  });

  it("does not answer about someone the documents never mention", () => {
    // "born" and a place are there, but not Paul Gascoigne: even with no score threshold at all.
    const anyScore = new ExtractiveAnswerer(0);
    const norwich = [source(1, "unstructured__norwich-city.txt", NORWICH)];
    expect(anyScore.answerSync({ query: "Where was Paul Gascoigne born?", sources: norwich }).answer).toBe(NO_ANSWER);
    expect(anyScore.answerSync({ query: "Where was Iwan Roberts born?", sources: norwich }).answer).toContain("Bangor");
    expect(ask("Where was Iwan Roberts born?", [source(1, "unstructured__norwich-city.txt", NORWICH)]).answer).toContain("Bangor");
  });

  it("answers about a name only from a passage that mentions it", () => {
    const anyScore = new ExtractiveAnswerer(0);
    const sources = [
      source(1, "tech-news.html", "Apple's iPhone sales fell in the last quarter, analysts said."),
      source(2, "microsoft.html", "On January 21, 2015, Microsoft announced the release of their first Interactive whiteboard."),
    ];
    // The only dated "first … release" sentence is about Microsoft; the passage naming the iPhone has no date.
    expect(anyScore.answerSync({ query: "When was the first iPhone released?", sources }).citations).not.toContain(2);
    expect(ask("When was the first iPhone released?", sources).answer).toBe(NO_ANSWER);
    expect(anyScore.answerSync({ query: "When was the first Microsoft whiteboard released?", sources }).answer).toContain("whiteboard [2]");
  });

  it("still says it could not find an answer when nothing clears the threshold", () => {
    expect(ask("What is the capital of Australia?", [source(1, "unstructured__norwich-city.txt", NORWICH)]).answer).toBe(NO_ANSWER);
    expect(
      ask("Who wrote The Crazy Ones?", [source(1, "pypdf__crazyones.pdf", "The Crazy Ones\nOctober 14, 1998\nHeres to the crazy ones.")])
        .answer,
    ).toBe(NO_ANSWER);
  });
});

describe("rules generalised from the held-out misses' kinds (issue 19, round 5)", () => {
  it("'X is/was' defines X only as the statement's subject and with a class noun after it", () => {
    const m = definitionMatcher("Redis");
    expect(m.test("Redis is an in-memory data store used as a cache.")).toBe(true);
    expect(definitionMatcher("sorted sets").test("Sorted sets are collections of unique strings.")).toBe(true);
    expect(m.test("This chapter introduces Redis, an in-memory data store.")).toBe(true);
    expect(m.test("The benchmark ran when Redis was a side project.")).toBe(false);
    expect(m.test("A key idea of Redis is to keep every key in memory.")).toBe(false);
    expect(m.test("Redis is fast on small values.")).toBe(false);
  });

  it("a bracketed letter inside a word is a mnemonic mark, not a word", () => {
    expect(terms("E[x]tract a [c]ompressed archive [f]ile").seq).toEqual(terms("Extract a compressed archive file").seq);
    // A bracket standing apart stays as it is.
    expect(terms("option [x] here").seq).toEqual(terms("option x here").seq);
  });

  it("a line that is one code span is a statement, not a table row, though it holds pipes", () => {
    const text = "- E[x]tract an archive into a directory:\n\n`tar xf {{source.tar[.gz|.xz]}} {{[-C|--directory]}} {{path}}`";
    const s = splitStatements(text);
    expect(s.map((x) => x.text)).toEqual([
      "E[x]tract an archive into a directory:",
      "`tar xf {{source.tar[.gz|.xz]}} {{[-C|--directory]}} {{path}}`",
    ]);
    for (const x of s) expect(text.slice(x.start, x.end)).toBe(x.text);
  });

  it("'which <noun>' asks for a named thing: a capitalised word, an identifier or a number the question does not hold", () => {
    const q = "Which database does the service use for sessions?";
    expect(answerTypes(q)).toEqual(["name"]);
    expect(answerTypes("In which state is the company incorporated?")).toEqual(["place"]);
    expect(typeFit(["name"], "The service keeps its sessions in PostgreSQL.", q)).toBe(1);
    expect(typeFit(["name"], "Sessions are stored by the service in BM25-style tables.", q)).toBe(1);
    expect(typeFit(["name"], "The service uses version 16.2 for sessions.", q)).toBe(1);
    expect(typeFit(["name"], "This is the database the service uses for sessions.", q)).toBe(0);
  });

  it("the question's own name in the possessive, or a capitalised function word, is no new name", () => {
    const q = "Who wrote the Redis manual?";
    expect(typeFit(["person"], 'According to Redis\'s manual, "The server keeps every key in memory".', q)).toBe(0);
    expect(typeFit(["person"], "The Redis manual was written by members of Garantia.", q)).toBeGreaterThan(0);
  });
});

describe("a sentence made only of part of the question's words", () => {
  it("is read with the statement after it, which holds the answer", () => {
    const text = "The report has two sections.\n\nThis is section two. Quarterly Revenue Forecast. The end.";
    const r = answerer.answerSync({ query: "Which chart is shown in section two?", sources: [source(1, "report.txt", text)] });
    expect(r.answer).toBe("This is section two. Quarterly Revenue Forecast [1].");
    const q = r.sentences?.[0].quotes[0];
    expect(text.slice(q?.start, q?.end)).toBe("This is section two. Quarterly Revenue Forecast.");
  });

  it("holding all of the question's words, it may be the answer itself", () => {
    const r = ask("Is flat better than nested?", [source(1, "zen.txt", "Flat is better than nested. Sparse is better than dense.")]);
    expect(r.answer).toBe("Flat is better than nested [1].");
  });
});
