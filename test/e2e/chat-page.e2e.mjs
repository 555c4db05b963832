#!/usr/bin/env node
// Browser test of the chat page (/) and the API reference (/docs), driven by playwright-core and
// Debian's chromium. Usually run by scripts/e2e.mjs, which starts a throwaway server; it also runs
// against any server:  E2E_BASE_URL=http://127.0.0.1:8787 E2E_MASTER_KEY=... node test/e2e/chat-page.e2e.mjs
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = (process.env.E2E_BASE_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
const master = process.env.E2E_MASTER_KEY ?? process.env.MASTER_API_KEY;
const results = process.env.E2E_RESULTS ?? "test-results";
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!master) throw new Error("Set E2E_MASTER_KEY (or MASTER_API_KEY) to the server's master key");
mkdirSync(results, { recursive: true });

const FIXTURE_MD = `# Tarnby Gold

Tarnby Gold is a hard cheese made by the Tarnby dairy cooperative on the island of Lillö.

## Ageing

Wheels of Tarnby Gold are aged for 14 months in a limestone cellar kept at 11 degrees Celsius and 92 percent humidity.
Each wheel is turned by hand every 4 days during the first year.

## Milk

Only summer milk from the cooperative's 37 farms is used, collected before 9 in the morning.
`;
const FIXTURE_TXT = `Visiting the Tarnby dairy

The cooperative's shop on Harbour Street opens at 10 and closes at 17, Tuesday to Saturday.
Guided tours of the cellar run every Thursday at 14 and cost 80 crowns per person.
`;

const steps = [];
const step = async (name, fn) => {
  const t = Date.now();
  process.stdout.write(`  - ${name} … `);
  const out = await fn();
  console.log(`ok (${Date.now() - t} ms)`);
  steps.push(name);
  return out;
};

async function api(method, p, body, headers = { "X-Master-API-Key": master }) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: body ? { ...headers, "Content-Type": "application/json" } : headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Fails the test on page errors, console errors, CSP violations and any request leaving the origin. */
function watch(page, label) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on("console", (m) => {
    // 4xx answers the page handles itself (the key probe) show up as console errors: ignore those.
    if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(`${label}: console: ${m.text()}`);
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["data:", "blob:"].includes(u.protocol) && u.origin !== base) problems.push(`${label}: external request ${r.url()}`);
  });
  return problems;
}

const CSP_PROBE = () => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
};

async function waitForDocs(page, count) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const states = await page.$$eval("#doc-list li[data-status]", (lis) => lis.map((li) => `${li.dataset.status}: ${li.textContent}`));
    const failed = states.find((s) => s.startsWith("failed"));
    if (failed) throw new Error(`a document failed to index: ${failed}`);
    if (states.length === count && states.every((s) => s.startsWith("ready"))) return states;
    if (Date.now() > deadline) throw new Error(`documents not ready after 90 s: ${JSON.stringify(states)}`);
    await page.waitForTimeout(500);
  }
}

/** Sends a question with the keyboard and waits for the streamed answer to finish. */
async function ask(page, question) {
  const before = await page.locator(".msg.bot").count();
  await page.getByLabel("Your question").fill(question);
  await page.getByLabel("Your question").press("Enter");
  const bot = page.locator(".msg.bot").nth(before);
  await bot.waitFor();
  await page.waitForFunction((i) => document.querySelectorAll(".msg.bot")[i]?.getAttribute("aria-busy") === "false", before, {
    timeout: 60_000,
  });
  const error = await bot.locator(".err").count();
  if (error) throw new Error(`the answer failed: ${await bot.locator(".err").textContent()}`);
  return bot;
}

const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

let failed = false;
const watchers = [];
try {
  console.log(`chat page e2e against ${base}`);

  await step("GET /openapi.json lists every endpoint, with security schemes", async () => {
    const doc = await api("GET", "/openapi.json", undefined, {});
    assert.equal(doc.openapi, "3.1.0");
    const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    for (const op of [
      "POST /get_temp_api_key",
      "POST /api/start_chat",
      "POST /api/chat",
      "POST /make_embedding",
      "POST /start_chat",
      "POST /chat",
      "POST /v1/collections",
      "GET /v1/collections",
      "GET /v1/collections/{id}",
      "DELETE /v1/collections/{id}",
      "POST /v1/collections/{id}/reindex",
      "POST /v1/collections/{id}/documents",
      "GET /v1/collections/{id}/documents",
      "GET /v1/collections/{id}/documents/{docId}",
      "DELETE /v1/collections/{id}/documents/{docId}",
      "GET /v1/collections/{id}/documents/{docId}/content",
      "POST /v1/collections/{id}/documents/{docId}/reindex",
      "POST /v1/collections/{id}/search",
      "POST /v1/chat",
      "GET /v1/sessions/{id}/messages",
      "GET /healthz",
    ]) {
      assert.ok(ops.includes(op), `missing from /openapi.json: ${op}`);
    }
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["apiKey", "masterKey", "sessionToken"]);
    assert.equal(doc.servers[0].url, base);
  });

  await step("GET / is served as a static page with a CSP", async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/, "the page has no CSP (public/_headers)");
  });

  // ---- master key: create a collection, upload two files, chat statelessly -------------------------
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(CSP_PROBE);
  const page = await ctx.newPage();
  watchers.push(watch(page, "master page"));
  const chatBodies = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/v1/chat")) chatBodies.push({ headers: r.headers(), body: r.postDataJSON() });
  });

  await step("enter the master key", async () => {
    await page.goto(`${base}/`);
    await page.getByLabel("Master or temporary API key").fill(master);
    await page.getByRole("button", { name: "Use key" }).click();
    await page.getByText("Master key: you can create collections").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("docchat.key")), master);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing may go to localStorage");
  });

  const collectionName = `e2e ${new Date().toISOString()}`;
  const collectionId = await step("create a collection", async () => {
    await page.getByLabel("New collection").fill(collectionName);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByText(`Created the collection “${collectionName}”.`).waitFor();
    const id = await page.locator("#col").inputValue();
    assert.match(id, /\S/);
    await page.getByText("No documents yet.").waitFor();
    return id;
  });

  await step("upload a Markdown file with the file picker", async () => {
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByRole("button", { name: "Choose files…" }).click()]);
    await chooser.setFiles({ name: "tarnby-gold.md", mimeType: "text/markdown", buffer: Buffer.from(FIXTURE_MD) });
    await page.locator("#uploads li", { hasText: "tarnby-gold.md" }).waitFor();
  });

  await step("upload a text file by drag and drop", async () => {
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], "tarnby-visits.txt", { type: "text/plain" }));
      const zone = document.getElementById("drop");
      for (const type of ["dragenter", "dragover", "drop"])
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, FIXTURE_TXT);
    await page.locator("#uploads li", { hasText: "tarnby-visits.txt" }).waitFor();
  });

  await step("both documents go from queued to ready (status polling)", async () => {
    await waitForDocs(page, 2);
    await page.locator("#uploads .st-ready").nth(1).waitFor();
  });

  await step("ask a question: streamed answer with a citation", async () => {
    const bot = await ask(page, "How long is Tarnby Gold aged?");
    const text = await bot.locator(".text").textContent();
    assert.ok(text.trim().length > 0, "empty answer");
    assert.ok((await bot.locator("button.cite").count()) > 0, `no citation in: ${text}`);
    const last = chatBodies.at(-1);
    assert.equal(last.headers["x-master-api-key"], master);
    assert.equal(last.body.collection_id, collectionId);
    assert.equal(last.body.stream, true);
  });

  await step("open the citation: the source passage is shown", async () => {
    const bot = page.locator(".msg.bot").last();
    const cites = bot.locator("button.cite");
    let found = "";
    for (let i = 0; i < (await cites.count()) && !found; i++) {
      await cites.nth(i).click();
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      const passage = await page.locator("#src-text").textContent();
      assert.ok(passage.trim().length > 0, "empty passage");
      // The claim's verified span is highlighted, and it is the passage's own text.
      const marks = page.locator("#src-text mark");
      assert.equal(await marks.count(), 1, "the supporting span is not highlighted");
      const span = await marks.first().textContent();
      assert.ok(span.trim().length > 0 && passage.includes(span), "the highlighted span is not the passage's text");
      if (/14 months/.test(passage)) {
        found = passage;
        assert.match(await page.locator("#src-title").textContent(), /tarnby-gold\.md/);
        await page.screenshot({ path: path.join(results, "chat-citation.png") });
      }
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      // Focus returns to the citation the dialog was opened from.
      assert.equal(await cites.nth(i).evaluate((b) => b === document.activeElement), true, "focus did not return to the citation");
    }
    assert.ok(found, "no citation opened the passage about the 14 months of ageing");
  });

  await step("follow-up question sends the conversation so far", async () => {
    await ask(page, "And how often are the wheels turned?");
    const last = chatBodies.at(-1);
    assert.equal(last.body.messages.length, 3, JSON.stringify(last.body));
    assert.equal(last.body.messages[0].content, "How long is Tarnby Gold aged?");
    await page.screenshot({ path: path.join(results, "chat-page.png"), fullPage: true });
  });

  await step("delete a document", async () => {
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete tarnby-visits.txt" }).click();
    await page.getByText("Deleted “tarnby-visits.txt”.").waitFor();
    await page.waitForFunction(() => document.querySelectorAll("#doc-list li[data-status]").length === 1);
  });

  assert.deepEqual(await page.evaluate(() => window.__csp), [], "CSP violations on the chat page");
  await ctx.close();

  // ---- temporary key, at phone width: a server-side session with follow-ups -----------------------
  const temp = await api("POST", "/get_temp_api_key", { collection_id: collectionId, ttl_seconds: 900, scopes: ["read", "chat"] });
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  await phone.addInitScript(CSP_PROBE);
  const mobile = await phone.newPage();
  watchers.push(watch(mobile, "phone page"));
  const sessionCalls = [];
  mobile.on("request", (r) => {
    if (/\/(api\/start_chat|v1\/chat)$/.test(r.url()))
      sessionCalls.push({ url: new URL(r.url()).pathname, auth: r.headers().authorization ?? "" });
  });

  await step("phone width: enter a temporary key, its collection is selected", async () => {
    await mobile.goto(`${base}/`);
    await mobile.getByLabel("Master or temporary API key").fill(temp.temp_api_key);
    await mobile.getByLabel("Master or temporary API key").press("Enter");
    await mobile.getByText("Temporary key: limited to its collection").waitFor();
    assert.equal(await mobile.locator("#col").inputValue(), collectionId);
    assert.equal(await mobile.locator("#new-col").isHidden(), true, "a temporary key cannot create collections");
    await waitForDocs(mobile, 1);
    const overflow = await mobile.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 360px`);
  });

  const sessionId = await step("phone width: two questions in one session (Bearer session token)", async () => {
    const started = mobile.waitForResponse((r) => r.url().endsWith("/api/start_chat"));
    const bot = await ask(mobile, "Where is the Tarnby dairy cooperative?");
    const session = await (await started).json();
    assert.ok((await bot.locator("button.cite").count()) > 0, "no citation in the first answer");
    await ask(mobile, "How long are the wheels aged?");
    const chats = sessionCalls.filter((c) => c.url === "/v1/chat");
    assert.equal(sessionCalls.filter((c) => c.url === "/api/start_chat").length, 1, "one session for both questions");
    assert.equal(chats.length, 2);
    for (const c of chats) assert.equal(c.auth, `Bearer ${session.jwt_token}`);
    await mobile.screenshot({ path: path.join(results, "chat-phone.png"), fullPage: true });
    return session.session_id;
  });

  await step("the session holds both turns on the server", async () => {
    const history = await api("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/messages`);
    assert.equal(history.messages.length, 4, JSON.stringify(history.messages.map((m) => m.role)));
  });

  assert.deepEqual(await mobile.evaluate(() => window.__csp), [], "CSP violations on the phone page");
  await phone.close();

  // ---- /docs: the vendored Swagger UI, offline, with a working "try it out" ------------------------
  const vendored = (await fetch(`${base}/vendor/swagger-ui/swagger-ui-bundle.js`, { method: "HEAD" })).ok;
  if (!vendored) {
    if (process.env.E2E_REQUIRE_SWAGGER === "1") throw new Error("swagger-ui-dist is installed but /vendor/swagger-ui/ is not served");
    await step("/docs without the vendored Swagger UI points to /openapi.json", async () => {
      const docsCtx = await browser.newContext();
      const docs = await docsCtx.newPage();
      await docs.goto(`${base}/docs`);
      await docs.getByText("The interactive reference is not built").waitFor();
      await docsCtx.close();
    });
    console.log("  - /docs: Swagger UI checks SKIPPED, swagger-ui-dist is not installed (public/vendor/swagger-ui/ missing)");
  } else {
    const docsCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await docsCtx.addInitScript(CSP_PROBE);
    const docs = await docsCtx.newPage();
    watchers.push(watch(docs, "docs page"));
    await step("/docs renders every operation from /openapi.json", async () => {
      await docs.goto(`${base}/docs`);
      await docs.locator(".opblock").first().waitFor({ timeout: 30_000 });
      assert.ok((await docs.locator(".opblock").count()) >= 21);
    });
    await step("/docs: try it out on GET /healthz", async () => {
      const op = docs.locator("#operations-Operations-getHealthz");
      await op.locator(".opblock-summary").click();
      await op.getByRole("button", { name: "Execute" }).click();
      const status = op.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor();
      assert.match(await status.textContent(), /200/);
      await docs.screenshot({ path: path.join(results, "docs.png") });
    });
    await step("/docs: authorize with the master key, upload a file with try it out", async () => {
      await docs.locator(".auth-wrapper button.authorize").click();
      const scheme = docs.locator(".auth-container", { hasText: "X-Master-API-Key" });
      await scheme.locator("input").fill(master);
      await scheme.locator("button.authorize").click();
      await docs.locator(".modal-ux button.btn-done").first().click();
      const op = docs.locator("#operations-Documents-postV1CollectionsByIdDocuments");
      await op.locator(".opblock-summary").click();
      await op.locator("input[placeholder='id']").fill(collectionId);
      await op.locator(".opblock-section-request-body select").selectOption("multipart/form-data");
      await op.locator("input[type=file]").setInputFiles({ name: "swagger.txt", mimeType: "text/plain", buffer: Buffer.from(FIXTURE_TXT) });
      // Swagger UI pre-fills every optional form field with its example or a sample of its type
      // (expiry, chunking); a user uploading a plain file clears them, and so does this test.
      for (const name of ["expires_at", "expires_after_seconds", "chunking_strategy"]) {
        const field = op.locator(`tr[data-property-name="${name}"] input[type=text]`).first();
        await field.fill("");
      }
      await op.getByRole("button", { name: "Execute" }).click();
      const status = op.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor();
      const curl = await op
        .locator(".curl-command")
        .first()
        .textContent()
        .catch(() => "");
      const answer = await op.locator(".live-responses-table tbody .response-col_description").first().textContent();
      assert.match(await status.textContent(), /202/, `try it out answered: ${answer}\nrequest: ${curl}`);
    });
    assert.deepEqual(await docs.evaluate(() => window.__csp), [], "CSP violations on /docs");
    await docsCtx.close();
  }

  const all = watchers.flat();
  assert.deepEqual(all, [], `problems seen in the pages:\n${all.join("\n")}`);
  console.log(`chat page e2e: ${steps.length} steps passed; screenshots in ${results}/`);
} catch (err) {
  failed = true;
  console.log("FAILED");
  console.error(err);
  for (const ctx of browser.contexts()) {
    for (const [i, p] of ctx.pages().entries())
      await p.screenshot({ path: path.join(results, `failure-${i}.png`), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
