/** CSV and JSON as readable, searchable text: rows as lines, JSON values next to their keys. */
import { ApiError } from "../../http/errors";
import { assertJsonShape, EXTRACT_LIMITS, tooLarge } from "./limits";

export function csvToText(text: string, tabSeparated: boolean): string {
  const delimiter = tabSeparated ? "\t" : guessDelimiter(text);
  // Each row becomes one line as its cells arrive: no array of every cell is ever held.
  const lines: string[] = [];
  let line = "";
  let n = 0;
  let keep = false;
  parseCsv(text, delimiter, {
    cell(raw) {
      const cell = raw.replace(/\s+/g, " ").trim();
      line += n++ > 0 ? ` | ${cell}` : cell;
      if (!keep && /[^|\s]/.test(cell)) keep = true;
    },
    row() {
      if (keep) lines.push(line);
      line = "";
      n = 0;
      keep = false;
    },
  });
  return lines.join("\n");
}

function guessDelimiter(text: string): string {
  const firstLine = text.slice(0, 4096).split("\n", 1)[0];
  let best = ",";
  let bestCount = 0;
  for (const d of [",", ";", "\t", "|"]) {
    const count = firstLine.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * RFC 4180: quoted fields may hold delimiters, newlines and doubled quotes. Linear: each char is
 * looked at once, cells are cut as slices of the input (no char-by-char string building), whether
 * a cell is still blank is tracked rather than recomputed, and the row and cell caps are checked as
 * cells are produced.
 */
function parseCsv(text: string, delimiter: string, out: { cell(text: string): void; row(): void }): void {
  let rows = 0;
  let inRow = 0;
  let cells = 0;
  // The current cell: `parts` (finished pieces) + text.slice(start, i) (the piece in progress).
  let parts = "";
  let start = 0;
  let blank = true;
  let quoted = false;
  const endCell = (end: number) => {
    out.cell(parts + text.slice(start, end));
    inRow++;
    parts = "";
    blank = true;
    if (++cells > EXTRACT_LIMITS.maxCsvCells) throw tooLarge(`more than ${EXTRACT_LIMITS.maxCsvCells.toLocaleString("en-US")} cells`);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') {
        if (blank && c.trim() !== "") blank = false;
      } else if (text[i + 1] === '"') {
        // A doubled quote is one quote: keep the piece up to and including the first.
        parts += text.slice(start, i + 1);
        start = i + 2;
        blank = false;
        i++;
      } else {
        parts += text.slice(start, i);
        start = i + 1;
        quoted = false;
      }
    } else if (c === '"' && blank) {
      // An opening quote after blanks: the blanks are dropped, the quoted text is the cell.
      quoted = true;
      parts = "";
      start = i + 1;
    } else if (c === delimiter) {
      endCell(i);
      start = i + 1;
    } else if (c === "\n" || c === "\r") {
      endCell(i);
      if (c === "\r" && text[i + 1] === "\n") i++;
      start = i + 1;
      out.row();
      inRow = 0;
      if (++rows > EXTRACT_LIMITS.maxCsvRows) throw tooLarge(`more than ${EXTRACT_LIMITS.maxCsvRows.toLocaleString("en-US")} rows`);
    } else if (blank && c.trim() !== "") {
      blank = false;
    }
  }
  const last = parts + text.slice(start);
  if (last !== "" || inRow > 0) {
    out.cell(last);
    out.row();
  }
}

/**
 * One line per scalar, `key.path: value`, so keys and numbers are searchable. Array indices are
 * left out of the path (they carry no meaning for search). Iterative, so deep nesting cannot
 * overflow the stack.
 */
export function jsonToText(text: string, lines: boolean): string {
  const out: string[] = [];
  // One frame per open container (depth is capped), walked in document order: no per-value
  // bookkeeping is allocated, so wide documents cost linear time and little garbage.
  type Frame = { path: string; items: unknown[]; keys: string[] | null; i: number };
  const stack: Frame[] = [{ path: "", items: parseJson(text, lines), keys: null, i: 0 }];
  const visit = (path: string, value: unknown) => {
    if (value === null || typeof value !== "object") {
      const scalar = value === null ? "null" : String(value);
      out.push(path ? `${path}: ${scalar}` : scalar);
    } else if (Array.isArray(value)) {
      stack.push({ path, items: value, keys: null, i: 0 });
    } else {
      const keys = Object.keys(value);
      stack.push({ path, items: keys.map((k) => (value as Record<string, unknown>)[k]), keys, i: 0 });
    }
  };
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.items.length) {
      stack.pop();
      continue;
    }
    const i = top.i++;
    const key = top.keys?.[i];
    visit(key === undefined ? top.path : top.path ? `${top.path}.${key}` : key, top.items[i]);
  }
  return out.join("\n");
}

function parseJson(text: string, lines: boolean): unknown[] {
  const body = text.replace(/^\uFEFF/, "");
  assertJsonShape(body);
  try {
    return [JSON.parse(body)];
  } catch {
    // JSON Lines: every non-empty line is its own JSON value.
    if (lines || body.includes("\n")) {
      try {
        return body
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l));
      } catch {
        // fall through to the error below
      }
    }
    throw new ApiError("corrupt_document", "The JSON file is not valid JSON. Please check its syntax and upload again.");
  }
}
