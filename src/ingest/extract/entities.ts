/**
 * HTMLRewriter hands text over exactly as written, entities included, so they are decoded here,
 * with the `entities` package (the full HTML5 table and the spec's rules for legacy names without a
 * semicolon and for numeric references in the C1 range), in linear time.
 */
import { decodeHTML } from "entities/decode";

export function decodeEntities(text: string): string {
  return text.includes("&") ? decodeHTML(text) : text;
}
