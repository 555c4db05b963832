/** CSV and JSON as readable, searchable text: rows as lines, JSON values next to their keys. */
import { ApiError } from "../../http/errors";

export function csvToText(text: string, tabSeparated: boolean): string {
  const delimiter = tabSeparated ? "\t" : guessDelimiter(text);
  return parseCsv(text, delimiter)
    .map((row) => row.map((cell) => cell.replace(/\s+/g, " ").trim()).join(" | "))
    .filter((line) => line.replace(/[|\s]/g, "") !== "")
    .join("\n");
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

/** RFC 4180: quoted fields may hold delimiters, newlines and doubled quotes. */
function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (c === delimiter) {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * One line per scalar, `key.path: value`, so keys and numbers are searchable. Array indices are
 * left out of the path (they carry no meaning for search). Iterative, so deep nesting cannot
 * overflow the stack.
 */
export function jsonToText(text: string, lines: boolean): string {
  const values = parseJson(text, lines);
  const out: string[] = [];
  const stack: [string, unknown][] = values.map((v) => ["", v] as [string, unknown]).reverse();
  while (stack.length > 0) {
    const [path, value] = stack.pop() as [string, unknown];
    if (value === null || typeof value !== "object") {
      const scalar = value === null ? "null" : String(value);
      out.push(path ? `${path}: ${scalar}` : scalar);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([path, value[i]]);
    } else {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push([path ? `${path}.${keys[i]}` : keys[i], (value as Record<string, unknown>)[keys[i]]]);
      }
    }
  }
  return out.join("\n");
}

function parseJson(text: string, lines: boolean): unknown[] {
  const body = text.replace(/^\uFEFF/, "");
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
