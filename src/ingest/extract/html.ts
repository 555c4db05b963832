/**
 * Main text of an HTML page with the Workers runtime's streaming HTMLRewriter: no DOM is built, so
 * a large page costs little memory. Page chrome (menus, sidebars, footers, edit links) is dropped
 * and headings are kept as markdown `#` lines so the chunker can build heading paths.
 */
import { decodeEntities } from "./entities";

export interface HtmlText {
  text: string;
  title?: string;
}

/** Elements whose content is never body text. Void elements do not belong here (no end tag). */
const SKIP_TAGS = new Set([
  "head",
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "canvas",
  "iframe",
  "object",
  "video",
  "audio",
  "map",
  "nav",
  "aside",
  "form",
  "button",
  "select",
  "textarea",
  "dialog",
  "menu",
]);
/** Dropped only outside the main content: inside an article they hold its title or byline. */
const PAGE_CHROME_TAGS = new Set(["header", "footer"]);
const CHROME_ROLES = new Set([
  "navigation",
  "banner",
  "contentinfo",
  "complementary",
  "search",
  "menu",
  "menubar",
  "toolbar",
  "dialog",
  "alertdialog",
  "tablist",
]);

/**
 * class/id tokens of chrome: generic site furniture and Wikipedia's skins ("vector-" everything
 * except the content wrappers, mw-navigation, toc, navbox, catlinks, edit links, footnote markers).
 */
const CHROME_TOKEN =
  /^(?:nav|navbar|navigation|navbox|navbox-.*|vertical-navbox|.*-nav|nav-.*|.*-navigation|menu|menu-.*|.*-menu|sidebar|sidebar-.*|.*-sidebar|toc|toctitle|mw-toc.*|breadcrumbs?|site-header|global-header|masthead|footer|site-footer|page-footer|global-footer|mw-footer|mw-navigation|mw-panel|mw-head|mw-head-base|mw-page-base|mw-editsection|mw-jump-link|mw-indicators|mw-normal-catlinks|mw-hidden-catlinks|catlinks|printfooter|noprint|sitesub|contentsub|mw-content-subtitle|sitenotice|mw-dismissablenotice.*|reference|mw-cite-backlink|hatnote|reflist|mw-references-wrap|authority-control|sistersitebox|portal|mw-portlet.*|skip-?link|skip-to-content|cookie.*|share|sharing|social|social-.*|share-.*|advert.*|ads|ad-.*)$/;
/** "mainnav", "navWrap", "topnav-list", "breadcrumbs-x": nav words glued to others. */
const NAV_LIKE = /(?:^|[-_]|main|sub|top|side|site|global)nav(?:$|[-_]|bar|wrap|menu|igation|list)|crumbs?(?:$|[-_])/;
const VECTOR_CONTENT = /^vector-(?:body.*|feature-.*|page-titlebar|toc-available|limited-width-content.*)$/;

/** Containers that mark the main content; when present (and not tiny) only their text is kept. */
const MAIN_IDS = new Set(["content", "mw-content-text", "main-content", "maincontent", "main"]);

const BLOCK_TAGS = new Set([
  "address",
  "article",
  "blockquote",
  "body",
  "center",
  "dd",
  "details",
  "div",
  "dl",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "header",
  "hgroup",
  "html",
  "li",
  "main",
  "ol",
  "p",
  "section",
  "summary",
  "tbody",
  "thead",
  "tfoot",
  "ul",
  "caption",
]);
const PARAGRAPH_TAGS = new Set(["p", "blockquote", "ul", "ol", "dl", "figure", "section", "article"]);

export interface HtmlOptions {
  /** Drop navigation/sidebar chrome and prefer the main container. Off for HTML we generated (DOCX). */
  pageChrome?: boolean;
}

export async function htmlToText(html: string, opts: HtmlOptions = {}): Promise<HtmlText> {
  const pageChrome = opts.pageChrome ?? true;
  const all: string[] = [];
  const main: string[] = [];
  let skipDepth = 0;
  let mainDepth = 0;
  let preDepth = 0;
  // Cells rarely close explicitly and HTMLRewriter only reports their end at the table's end, so
  // this counts "inside some cell of an open table" rather than exact nesting.
  let cellDepth = 0;
  let headOpen = false;
  let titleOpen = false;
  let titleDone = false;
  let title = "";
  let pending = "";

  const emit = (s: string) => {
    all.push(s);
    if (mainDepth > 0) main.push(s);
  };
  /**
   * An element takes one end-tag handler (a second registration replaces the first), so each
   * element gets a list of actions run last-in first-out. Returns false for void elements, which
   * have no end tag; counters must then not be raised.
   */
  const endActions = (el: Element) => {
    const actions: (() => void)[] = [];
    let registered: boolean | undefined;
    return (fn: () => void): boolean => {
      if (registered === undefined) {
        try {
          el.onEndTag(() => {
            for (let i = actions.length - 1; i >= 0; i--) actions[i]();
          });
          registered = true;
        } catch {
          registered = false;
        }
      }
      if (registered) actions.push(fn);
      return registered;
    };
  };

  const rewriter = new HTMLRewriter()
    .on("*", {
      element(el) {
        const tag = el.tagName.toLowerCase();
        const onEnd = endActions(el);
        // <title> lives in the skipped <head>; an <svg><title> in the body is not the page title.
        if (tag === "title" && !titleDone && (skipDepth === 0 || (headOpen && skipDepth === 1))) {
          titleOpen = true;
          onEnd(() => {
            titleOpen = false;
            titleDone = true;
          });
          return;
        }
        if (skipDepth > 0) return;

        if (isSkipped(el, tag, pageChrome, mainDepth > 0)) {
          const isHead = tag === "head";
          if (
            onEnd(() => {
              skipDepth--;
              if (isHead) headOpen = false;
            })
          ) {
            skipDepth++;
            headOpen = isHead;
          }
          return;
        }
        if (pageChrome && isMainContainer(el, tag) && onEnd(() => mainDepth--)) {
          mainDepth++;
        }

        const heading = /^h([1-6])$/.exec(tag);
        if (tag === "td" || tag === "th") {
          emit(" | ");
          if (onEnd(() => cellDepth--)) cellDepth++;
        } else if (tag === "tr") {
          emit("\n"); // rows rarely close explicitly: a break before each is enough
        } else if (tag === "table") {
          emit("\n\n");
          onEnd(() => emit("\n\n"));
        } else if (cellDepth > 0 && (heading || BLOCK_TAGS.has(tag) || tag === "br" || tag === "pre")) {
          // Paragraphs inside a cell (DOCX tables always have them) must not break the row.
          emit(" ");
        } else if (heading) {
          emit(`\n\n${"#".repeat(Number(heading[1]))} `);
          onEnd(() => emit("\n\n"));
        } else if (tag === "br") {
          emit("\n");
        } else if (tag === "hr") {
          emit("\n\n");
        } else if (tag === "pre") {
          emit("\n\n");
          if (
            onEnd(() => {
              preDepth--;
              emit("\n\n");
            })
          )
            preDepth++;
        } else if (tag === "li") {
          emit("\n- ");
          onEnd(() => emit("\n"));
        } else if (BLOCK_TAGS.has(tag)) {
          const gap = PARAGRAPH_TAGS.has(tag) ? "\n\n" : "\n";
          emit(gap);
          onEnd(() => emit(gap));
        }
      },
    })
    .onDocument({
      text(chunk) {
        // A text node may arrive in several chunks; entities can straddle them, so decode whole nodes.
        pending += chunk.text;
        if (!chunk.lastInTextNode) return;
        const raw = pending;
        pending = "";
        if (titleOpen) title += raw;
        if (skipDepth > 0 || titleOpen || raw === "") return;
        const text = decodeEntities(raw);
        emit(preDepth > 0 ? text : text.replace(/[ \t\n\r\f]+/g, " "));
      },
    });

  // HTMLRewriter reads the charset from the content type; the string is already decoded.
  const response = new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  await rewriter.transform(response).arrayBuffer();

  const allText = cleanup(all.join(""));
  const mainText = cleanup(main.join(""));
  // Trust the main container unless it is a small fragment (a teaser <article> in a sidebar).
  const useMain = mainText.length >= 500 || mainText.length >= allText.length * 0.25;
  const cleanTitle = decodeEntities(title).replace(/\s+/g, " ").trim();
  return { text: useMain && mainText ? mainText : allText, title: cleanTitle || undefined };
}

function isSkipped(el: Element, tag: string, pageChrome: boolean, inMain: boolean): boolean {
  if (SKIP_TAGS.has(tag)) return tag !== "menu" || pageChrome;
  // mammoth's "↑" links from a footnote back to its reference.
  if (tag === "a" && /^#(?:foot|end)note-ref-/.test(el.getAttribute("href") ?? "")) return true;
  if (el.hasAttribute("hidden") || el.getAttribute("aria-hidden") === "true") return true;
  const style = el.getAttribute("style");
  if (style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(style)) return true;
  if (!pageChrome || tag === "html" || tag === "body" || tag === "main") return false;
  if (PAGE_CHROME_TAGS.has(tag) && !inMain) return true;
  const role = el.getAttribute("role")?.toLowerCase();
  if (role && CHROME_ROLES.has(role)) return true;
  const tokens = `${el.getAttribute("class") ?? ""} ${el.getAttribute("id") ?? ""}`.toLowerCase().split(/\s+/);
  return tokens.some((t) => t !== "" && (CHROME_TOKEN.test(t) || NAV_LIKE.test(t) || (t.startsWith("vector-") && !VECTOR_CONTENT.test(t))));
}

function isMainContainer(el: Element, tag: string): boolean {
  if (tag === "main" || tag === "article") return true;
  if (el.getAttribute("role")?.toLowerCase() === "main") return true;
  const id = el.getAttribute("id");
  return id !== null && MAIN_IDS.has(id.toLowerCase());
}

/** Tidies the separators emitted around blocks and cells; full normalisation happens later. */
function cleanup(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .replace(/\s+/g, " ")
        .replace(/\|(?:\s*\|)+/g, "|") // empty cells
        .replace(/^\s*\|\s*/, "") // a row starts with its first cell, not a separator
        .replace(/\s*\|\s*$/, "")
        .trim(),
    )
    .filter((line) => !/^#{1,6}$/.test(line) && line !== "-")
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
