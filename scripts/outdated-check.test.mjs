// The drift check's decision on fixed registry data (no network): it passes a current pin and fails
// one that is more than ~3 months behind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { judge, MAX_DAYS_BEHIND, PACKAGES, pinsFromLock } from "./outdated-check.mjs";

// Shaped like `npm view wrangler time --json` (dates of the real releases).
const times = {
  created: "2019-01-01T00:00:00.000Z",
  "4.86.0": "2026-04-28T13:51:55.433Z",
  "4.124.0": "2026-08-18T19:33:51.338Z",
  "4.164.0": "2026-11-17T11:15:02Z",
};

test("the current release passes", () => {
  const r = judge({ name: "wrangler", pinned: "4.164.0", latest: "4.164.0", times });
  assert.deepEqual([r.ok, r.daysBehind, r.why], [true, 0, "current"]);
});

test("a pin within ~3 months passes, one further behind fails", () => {
  const near = judge({ name: "wrangler", pinned: "4.124.0", latest: "4.164.0", times });
  assert.equal(near.ok, true);
  assert.equal(near.daysBehind, 90);
  const far = judge({ name: "wrangler", pinned: "4.86.0", latest: "4.164.0", times });
  assert.equal(far.ok, false);
  assert.equal(far.daysBehind, 202);
  assert.match(far.why, /202 days behind 4\.164\.0 \(limit 92\)/);
  assert.equal(judge({ name: "wrangler", pinned: "4.124.0", latest: "4.164.0", times, maxDays: 89 }).ok, false);
});

test("a pin newer than `latest` (a prerelease line) is current; unknown versions fail", () => {
  const mf = { "4.20260730.0": "2026-07-31T07:02:06Z", "5.20261117.0-beta": "2026-11-17T11:03:04Z" };
  assert.equal(judge({ name: "miniflare", pinned: "5.20261117.0-beta", latest: "4.20260730.0", times: mf }).ok, true);
  assert.equal(judge({ name: "miniflare", pinned: "9.9.9", latest: "4.20260730.0", times: mf }).ok, false);
});

test("pins come from the lockfile's top-level entries, and a missing pin is an error", () => {
  const lock = { packages: Object.fromEntries(PACKAGES.map((n, i) => [`node_modules/${n}`, { version: `1.0.${i}` }])) };
  assert.deepEqual(
    pinsFromLock(lock).map((p) => p.pinned),
    PACKAGES.map((_, i) => `1.0.${i}`),
  );
  assert.throws(() => pinsFromLock({ packages: {} }), /pins no wrangler/);
  assert.ok(MAX_DAYS_BEHIND >= 85 && MAX_DAYS_BEHIND <= 95);
});
