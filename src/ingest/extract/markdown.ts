/**
 * Markdown stays markdown: headings are already `#` lines the chunker understands. Only noise that
 * hurts search is removed (link targets, image URLs, reference definitions, fences, table rules).
 */

export function markdownToText(source: string): { text: string; title?: string } {
  const out: string[] = [];
  let fence: string | null = null;
  const lines = source.replace(/<!--[\s\S]*?-->/g, "").split(/\r\n?|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fenceMatch = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch) {
      // Code blocks are kept as text; only the fence lines go.
      if (fence === null) fence = fenceMatch[1][0];
      else if (fenceMatch[1][0] === fence) fence = null;
      continue;
    }
    if (fence !== null) {
      out.push(line);
      continue;
    }
    // Setext headings become ATX so heading paths work the same way.
    const next = lines[i + 1];
    if (line.trim() && next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next) && !/^\s*[-*+>|]/.test(line)) {
      out.push(`${next.trim()[0] === "=" ? "#" : "##"} ${inline(line.trim())}`);
      i++;
      continue;
    }
    if (/^\s{0,3}\[[^\]]+\]:\s*\S+/.test(line)) continue; // reference definition
    if (/^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/.test(line) && line.includes("|")) continue; // table rule
    out.push(inline(line));
  }
  const text = out.join("\n");
  const title = /^\s{0,3}# (.+)$/m.exec(text)?.[1]?.trim();
  return { text, title };
}

function inline(line: string): string {
  return line
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1") // image → alt text
    .replace(/\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+["'(][^)]*["')])?\)/g, "$1") // [text](url "title") → text
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1") // [text][ref] → text
    .replace(/<((?:https?|mailto):[^>\s]+)>/g, "$1"); // <https://…> autolink → URL
}
