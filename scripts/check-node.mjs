#!/usr/bin/env node
// Preflight for the npm scripts (run as their `pre*` hook): wrangler 4.164 and unpdf need Node >= 22.12,
// and on an older Node they fail deep inside with an unhelpful stack. Say so plainly instead. Written
// to run on any Node (no modern syntax beyond what Node 12 parses).
const MIN = [22, 12];
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  console.error(
    [
      "",
      `docchat-edge needs Node.js >= ${MIN.join(".")} (tested on Node 24 LTS); this is Node ${process.versions.node}.`,
      "  With nvm or fnm:   nvm install && nvm use   (reads .nvmrc: 24)",
      "  Without them:      source scripts/use-node.sh   (fetches Node 24 from the npm registry into ~/.cache/docchat-node)",
      "",
    ].join("\n"),
  );
  process.exit(1);
}
