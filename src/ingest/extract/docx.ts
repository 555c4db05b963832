/**
 * DOCX through mammoth, after our own checks: the package must be a sane zip (no bomb) and no XML
 * part may declare a DTD or entities. mammoth never sees the upload itself: it gets an archive
 * rebuilt from entries whose inflated size was measured (zip.ts `rebuildVerified`), so whatever part
 * `_rels/.rels` names as the document, or mammoth otherwise opens, inflates to no more than was
 * verified. mammoth's XML parser is not hardened against external
 * entities or entity-expansion bombs, and refusing such parts outright means nothing is ever
 * fetched or expanded. mammoth's HTML then goes through the HTML extractor so headings survive.
 */
import { Buffer } from "node:buffer";
import { ApiError } from "../../http/errors";
import { decodeEntities } from "./entities";
import { htmlToText } from "./html";
import { rebuildVerified } from "./zip";

export interface DocxText {
  text: string;
  title?: string;
}

const XML_PART = /\.(xml|rels)$/i;

export async function extractDocx(bytes: Uint8Array): Promise<DocxText> {
  const { archive, kept } = await rebuildVerified(bytes, (name) => XML_PART.test(name));
  if (!kept.has("word/document.xml")) {
    throw new ApiError(
      "corrupt_document",
      "The Word document is incomplete (its main body is missing). Please re-save it and upload again.",
    );
  }
  let title: string | undefined;
  for (const [name, part] of kept) {
    if (declaresDtd(part)) {
      throw new ApiError(
        "corrupt_document",
        "The Word document contains XML declarations (DTD or entities) that are not allowed for security reasons. Please re-save it in Word and upload again.",
      );
    }
    if (name === "docProps/core.xml") title = coreTitle(part);
  }

  const mammoth = await loadMammoth();
  let html: string;
  try {
    // The test pool loads mammoth's Node build (wants `buffer`), the bundler its browser build
    // (wants `arrayBuffer`): give both.
    const arrayBuffer = archive.buffer as ArrayBuffer;
    const input = { buffer: Buffer.from(arrayBuffer), arrayBuffer };
    const result = await mammoth.convertToHtml(input, {
      externalFileAccess: false,
      // Images carry no text; skipping them avoids base64-encoding every picture into the HTML.
      convertImage: mammoth.images.imgElement(async () => ({ src: "" })),
    });
    html = result.value;
  } catch {
    throw new ApiError("corrupt_document", "The Word document is damaged and could not be read. Please re-save it and upload again.");
  }
  const { text } = await htmlToText(html, { pageChrome: false });
  return { text, title };
}

/** `<!DOCTYPE` or `<!ENTITY` anywhere in the part, in UTF-8 or UTF-16. */
function declaresDtd(part: Uint8Array): boolean {
  const utf16 = (part[0] === 0xff && part[1] === 0xfe) || (part[0] === 0x3c && part[1] === 0);
  const utf16be = (part[0] === 0xfe && part[1] === 0xff) || (part[0] === 0 && part[1] === 0x3c);
  const text = new TextDecoder(utf16 ? "utf-16le" : utf16be ? "utf-16be" : "utf-8").decode(part);
  return /<!\s*(DOCTYPE|ENTITY)/i.test(text);
}

/** The title the author set in File > Properties (docProps/core.xml), if any. */
function coreTitle(part: Uint8Array): string | undefined {
  const m = /<dc:title>([^<]*)<\/dc:title>/.exec(new TextDecoder().decode(part));
  const title = m ? decodeEntities(m[1]).replace(/\s+/g, " ").trim() : "";
  return title || undefined;
}

type Mammoth = typeof import("mammoth");

async function loadMammoth(): Promise<Mammoth> {
  const mod = (await import("mammoth")) as Mammoth & { default?: Mammoth };
  return mod.default ?? mod;
}
