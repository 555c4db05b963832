#!/usr/bin/env node
// `npm run outdated:check`: fails when a pinned Cloudflare package is more than ~3 months behind the
// registry's current release, so the toolchain cannot drift as far as it once did (wrangler 4.86 vs
// 4.164). "Behind" is measured in publish times (`npm view <pkg> time --json`): the days between the
// release the lockfile pins and the registry's `latest`; a pin at or after `latest` (the prerelease
// miniflare 5 that wrangler pins, while `latest` still names miniflare 4) is current.
//
// Checked: the project's own pins (package-lock.json's top-level node_modules entries). Packages a
// dependency pins for itself (the test pool's nested miniflare/workerd) follow that dependency, whose
// own version is checked. Run by .ci/run after `npm ci` (which has just reached the same registry);
// a registry that stays unreachable after retries is reported and skipped, never a flaky failure.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

export const PACKAGES = ["wrangler", "miniflare", "workerd", "@cloudflare/vitest-pool-workers", "@cloudflare/workers-types"];
export const MAX_DAYS_BEHIND = 92; // ~3 months

const DAY = 86_400_000;

/**
 * The decision, on fixed data: `times` is `npm view <pkg> time --json` (version -> ISO date),
 * `latest` the registry's current release. Returns how far behind the pin is and whether that fails.
 */
export function judge({ name, pinned, latest, times, maxDays = MAX_DAYS_BEHIND }) {
  const pinnedAt = Date.parse(times[pinned] ?? "");
  const latestAt = Date.parse(times[latest] ?? "");
  if (Number.isNaN(pinnedAt)) return { name, pinned, latest, daysBehind: null, ok: false, why: `no publish time for pinned ${pinned}` };
  if (Number.isNaN(latestAt)) return { name, pinned, latest, daysBehind: null, ok: false, why: `no publish time for latest ${latest}` };
  const daysBehind = Math.max(0, Math.floor((latestAt - pinnedAt) / DAY));
  const ok = daysBehind <= maxDays;
  return {
    name,
    pinned,
    latest,
    daysBehind,
    ok,
    why: ok ? (daysBehind === 0 ? "current" : `${daysBehind} days behind`) : `${daysBehind} days behind ${latest} (limit ${maxDays})`,
  };
}

/** The project's pins, from the lockfile (top-level entries only). */
export function pinsFromLock(lock, names = PACKAGES) {
  return names.map((name) => {
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`package-lock.json pins no ${name}`);
    return { name, pinned: version };
  });
}

const run = promisify(execFile);

async function npmView(name) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const { stdout } = await run("npm", ["view", name, "time", "dist-tags", "--json"], { maxBuffer: 64 << 20 });
      const info = JSON.parse(stdout);
      return { times: info.time, latest: info["dist-tags"].latest };
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 2000 * (attempt + 1)));
    }
  }
  throw Object.assign(new Error(`npm view ${name} failed: ${lastErr?.message?.split("\n")[0]}`), { unreachable: true });
}

async function main() {
  const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));
  const results = [];
  for (const { name, pinned } of pinsFromLock(lock)) {
    let view;
    try {
      view = await npmView(name);
    } catch (err) {
      console.warn(`outdated:check: registry unreachable (${err.message}); skipped, not failed.`);
      return 0;
    }
    results.push(judge({ name, pinned, latest: view.latest, times: view.times }));
  }
  for (const r of results)
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(32)} pinned ${r.pinned.padEnd(22)} latest ${r.latest.padEnd(22)} ${r.why}`);
  const bad = results.filter((r) => !r.ok);
  if (bad.length > 0) {
    console.error(
      `\noutdated:check: ${bad.map((r) => r.name).join(", ")} more than ${MAX_DAYS_BEHIND} days behind; upgrade (see docs/operations.md "Toolchain").`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
