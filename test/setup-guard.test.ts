import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("test setup guard", () => {
  it("fails any outbound fetch a test did not stub", async () => {
    await expect(fetch("https://example.com/")).rejects.toThrow(/unstubbed outbound fetch in a test: https:\/\/example.com\//);
  });

  it("leaves calls into the worker itself working", async () => {
    const res = await exports.default.fetch("https://docchat.test/healthz");
    expect(res.status).toBe(200);
  });
});
