import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { htmlToText } from "../../src/ingest/extract/html";
import { markdownToText } from "../../src/ingest/extract/markdown";
import { concat, expectApiError, utf8 } from "./builders";

const run = (source: string, name: string, contentType?: string) => extract(utf8(source), { name, contentType });

describe("HTML", () => {
  const page = `<!doctype html><html><head><title>Cats &amp; Dogs</title><style>p{color:red}</style>
    <script>document.write("<p>script text</p>")</script></head>
    <body>
      <header class="site-header"><a href="/">Home</a> <a href="/login">Log in</a></header>
      <nav><ul><li>Menu item one</li><li>Menu item two</li></ul></nav>
      <div id="sidebar">Sidebar links</div>
      <main>
        <h1>Cats <span class="mw-editsection">[edit]</span></h1>
        <p>Cats are <b>small</b>   carnivores.<sup class="reference">[1]</sup>
        They sleep a lot.</p>
        <h2>Food &#x26; water</h2>
        <ul><li>Fish</li><li>Milk &mdash; sometimes</li></ul>
        <table><tr><th>Name</th><th>Age</th></tr><tr><td>Tom</td><td>3</td></tr><tr><td>x<td>&nbsp;<td> <td>z</table>
        <pre>line 1
  indented line 2</pre>
        <p hidden>hidden text</p><div style="display: none">invisible</div>
        <noscript>enable js</noscript><template><p>template text</p></template>
        <svg><title>svg title</title><text>svg text</text></svg>
        <form><label>Search</label><input name=q><button>Go</button></form>
        <p>Ends here. ${"Filler sentence for a long enough main block. ".repeat(12)}</p>
      </main>
      <aside>Related stories</aside>
      <footer>Copyright footer</footer>
    </body></html>`;

  it("keeps the main text with markdown headings, lists, cells and decoded entities", async () => {
    const doc = await run(page, "page.html");
    expect(doc.kind).toBe("html");
    expect(doc.title).toBe("Cats & Dogs");
    expect(doc.encoding).toBe("utf-8");
    const lines = doc.text.split("\n");
    expect(lines).toContain("# Cats");
    expect(lines).toContain("## Food & water");
    expect(doc.text).toContain("Cats are small carnivores. They sleep a lot.");
    expect(lines).toContain("- Fish");
    expect(lines).toContain("- Milk — sometimes");
    expect(lines).toContain("Name | Age");
    expect(lines).toContain("Tom | 3");
    expect(lines).toContain("x | z"); // an empty cell does not leave "| |"
    expect(doc.text).toContain("line 1\nindented line 2");
  });

  it("drops scripts, styles, chrome, hidden and form content", async () => {
    const { text } = await run(page, "page.html");
    for (const chrome of [
      "script text",
      "color:red",
      "Home",
      "Log in",
      "Menu item",
      "Sidebar links",
      "[edit]",
      "[1]",
      "hidden text",
      "invisible",
      "enable js",
      "template text",
      "svg",
      "Search",
      "Go",
      "Related stories",
      "Copyright footer",
    ]) {
      expect(text, chrome).not.toContain(chrome);
    }
  });

  it("prefers #mw-content-text / main / article, but not a tiny teaser", async () => {
    const wiki = `<body><div id="mw-navigation">Navigation menu</div><div class="vector-header">Create account</div>
      <div id="content"><div class="vector-body"><div id="mw-content-text"><p>${"Article body. ".repeat(50)}</p>
      <div class="navbox">Navbox links</div><div id="catlinks">Categories: Foo</div></div></div></div>
      <div id="footer">Privacy policy</div></body>`;
    const { text } = await htmlToText(wiki);
    expect(text).toContain("Article body.");
    for (const chrome of ["Navigation menu", "Create account", "Navbox links", "Categories", "Privacy policy"])
      expect(text).not.toContain(chrome);

    const teaser = `<body><div>${"Real content without landmarks. ".repeat(40)}</div><article>Teaser</article></body>`;
    expect((await htmlToText(teaser)).text).toContain("Real content without landmarks.");
  });

  it("keeps an article's own header (its title) while dropping the page header", async () => {
    const html = `<body><header>Site banner</header><article><header><h1>Story title</h1></header><p>${"Story text. ".repeat(60)}</p></article></body>`;
    const { text } = await htmlToText(html);
    expect(text.startsWith("# Story title")).toBe(true);
    expect(text).not.toContain("Site banner");
  });

  it("decodes a windows-1252 page via its meta charset", async () => {
    const bytes = concat(
      utf8('<html><head><meta charset="windows-1252"><title>Caf'),
      new Uint8Array([0xe9]),
      utf8("</title></head><body><p>"),
      new Uint8Array([0x93, 0x71, 0x94, 0x20, 0x80]),
      utf8("</p></body></html>"),
    );
    const doc = await extract(bytes, { name: "x.html" });
    expect(doc.encoding).toBe("windows-1252");
    expect(doc.title).toBe("Café");
    expect(doc.text).toBe("“q” €");
  });

  it("decodes numeric, named and legacy entities once, leaving unknown ones alone", async () => {
    const { text } = await htmlToText(
      "<p>&lt;b&gt; &amp;amp; &#169; &#x1F600; &#150; &eacute; &copy 5 &notanentity; &zzzz; a&b &NotNestedLessLess;</p>",
    );
    // As the HTML spec (and every browser) reads text: the legacy `&not` prefix decodes without its
    // semicolon, an unknown name stays as written, and HTML5 names (beyond HTML 4) are known.
    expect(text).toBe("<b> &amp; © 😀 – é © 5 ¬anentity; &zzzz; a&b \u2AA1\u0338");
  });

  it("refuses a page with no text", async () => {
    await expectApiError(run("<html><body><script>x()</script><nav>menu</nav></body></html>", "a.html"), "empty_document");
  });
});

describe("Markdown", () => {
  it("keeps headings and text, strips link targets, image URLs, fences and table rules", async () => {
    const md = [
      "Title",
      "=====",
      "",
      "#hashtag is not a heading",
      'See [the docs](https://example.com/docs "Docs") and ![a diagram](img/d.png) or [ref link][r].',
      "",
      "[r]: https://example.com/ref",
      "",
      "```bash",
      "tar cf out.tar [files](not-a-link)",
      "```",
      "",
      "| a | b |",
      "|---|:-:|",
      "| 1 | 2 |",
      "Sub",
      "---",
      "<!-- hidden comment -->",
      "Visit <https://example.org>.",
    ].join("\n");
    const { text, title } = await markdownToText(md);
    expect(title).toBe("Title");
    const lines = text.split("\n");
    expect(lines[0]).toBe("# Title");
    expect(lines).toContain("#hashtag is not a heading");
    expect(lines).toContain("## Sub");
    expect(text).toContain("See the docs and a diagram or ref link.");
    expect(text).toContain("tar cf out.tar");
    expect(text).toContain("| 1 | 2 |");
    expect(text).toContain("Visit https://example.org.");
    for (const noise of ["https://example.com/docs", "img/d.png", "https://example.com/ref", "```", "|---", "hidden comment"]) {
      expect(text, noise).not.toContain(noise);
    }
  });

  it("extracts a .md upload as markdown", async () => {
    const doc = await run("# Hello\n\nWorld   with  spaces\n\n\n\nEnd", "notes.md");
    expect(doc).toMatchObject({ kind: "markdown", title: "Hello", text: "# Hello\n\nWorld with spaces\n\nEnd", encoding: "utf-8" });
  });
});

describe("CSV and JSON", () => {
  it("keeps CSV rows as lines, honouring quotes, embedded newlines and the delimiter", async () => {
    const doc = await run('name,quote,n\r\n"Smith, J","said ""hi""\nthen left",3\r\n,,\r\nLee,ok,4\r\n', "data.csv");
    expect(doc.kind).toBe("csv");
    expect(doc.text).toBe('name | quote | n\nSmith, J | said "hi" then left | 3\nLee | ok | 4');
    expect((await run("a;b\n1;2\n", "semi.csv")).text).toBe("a | b\n1 | 2");
    expect((await run("a\tb,c\n1\t2,3\n", "tabs.tsv")).text).toBe("a | b,c\n1 | 2,3");
  });

  it("turns JSON into key: value lines so keys and numbers are searchable", async () => {
    const doc = await run(
      JSON.stringify({ title: "Report", year: 2024, tags: ["a", "b"], author: { name: "Ann", active: true, note: null } }),
      "r.json",
    );
    expect(doc.kind).toBe("json");
    expect(doc.text).toBe("title: Report\nyear: 2024\ntags: a\ntags: b\nauthor.name: Ann\nauthor.active: true\nauthor.note: null");
  });

  it("reads JSON Lines", async () => {
    expect((await run('{"id":1,"t":"x"}\n{"id":2,"t":"y"}\n', "rows.jsonl")).text).toBe("id: 1\nt: x\nid: 2\nt: y");
  });

  it("refuses invalid JSON as corrupt", async () => {
    await expectApiError(run('{"a": 1,,}', "bad.json"), "corrupt_document");
  });
});

describe("text", () => {
  it("normalises a plain text upload and reports its encoding", async () => {
    const doc = await extract(concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8("A\u0000B  C\r\n\r\n\r\nD")), { name: "a.txt" });
    expect(doc).toEqual({ kind: "text", text: "AB C\n\nD", encoding: "utf-8" });
  });

  it("refuses whitespace-only text", async () => {
    await expectApiError(run(" \n\t\u3000\n", "blank.txt"), "empty_document");
  });

  it("refuses text over maxChars with 413", async () => {
    const err = await expectApiError(
      run("word ".repeat(100), "long.txt").then(() => extract(utf8("word ".repeat(100)), { name: "a.txt", maxChars: 50 })),
      "document_too_large",
    );
    expect(err.status).toBe(413);
  });
});
