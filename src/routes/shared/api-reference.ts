// The API reference: the OpenAPI document's description, tags and security schemes, and the
// Swagger UI page. Imported by src/routes/docs.ts on the first GET /openapi.json or /docs, so an
// isolate serving searches never evaluates it.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Access, securityOf } from "../../auth/access";
import type { AppEnv } from "../../http/context";

export type Doc = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;
export const DESCRIPTION = `Chat with your documents: upload files into a collection, they are extracted, chunked and indexed
in the background, then search them or ask grounded questions whose answers cite their sources as \`[n]\`.

**Authentication**

- \`X-Master-API-Key\`: the operator's master key. Creates collections and issues temporary keys.
- \`X-API-Key\` (or \`Authorization: Bearer <key>\`): a temporary key from \`POST /get_temp_api_key\`, bound to one
  collection, with scopes \`read\`, \`write\`, \`chat\`.
- \`Authorization: Bearer <jwt>\`: a chat-session token from \`POST /api/start_chat\`; the original's raw
  \`Authorization: <jwt>\` is still accepted by \`/api/chat\` and \`/chat\`.

**Typical flow**: \`POST /v1/collections\` (master) → \`POST /v1/collections/{id}/documents\` → poll the document
until \`status\` is \`ready\` → \`POST /get_temp_api_key\` → \`POST /api/start_chat\` → \`POST /v1/chat\` with the session
token (\`stream: true\` answers server-sent events \`sources\`, \`delta\`…, then \`done\` or \`error\`).

**Errors** share one envelope \`{"error": {"code", "message", "request_id"}}\` with a stable \`code\`; the original's
endpoints (tag *Original API*) keep its \`{"message"|"error", "code", "request_id"}\` shape.`;

const TAGS = [
  { name: "Original API", description: "The endpoints of the original Flask service, kept compatible (and authenticated)." },
  { name: "Collections", description: "A collection holds documents indexed with one embedder." },
  { name: "Documents", description: "Upload, status, download, delete and re-index documents." },
  { name: "Search", description: "Hybrid (vector + keyword), vector or keyword retrieval." },
  { name: "Chat", description: "Grounded answers with citations, as JSON or server-sent events; session history." },
  { name: "Keys", description: "Temporary API keys (master key)." },
  { name: "Operations", description: "Health and configuration." },
];

const SECURITY_SCHEMES = {
  masterKey: {
    type: "apiKey",
    in: "header",
    name: "X-Master-API-Key",
    description: "The operator's master key (secret MASTER_API_KEY). Never give it to end users.",
  },
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A temporary API key from POST /get_temp_api_key (also accepted as `Authorization: Bearer <key>`).",
  },
  sessionToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The `jwt_token` from POST /api/start_chat. /api/chat and /chat also take it raw (`Authorization: <jwt>`).",
  },
} as const;

/** A stable id for deep links and generated clients: `post /v1/collections/{id}/search` -> postV1CollectionsByIdSearch. */
function operationId(method: string, path: string): string {
  const words = path
    .replace(/\{(\w+)\}/g, "by $1")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/**
 * Adds what the route definitions leave out: servers, security schemes, tags, and each operation's
 * `security`, derived from its access declaration (src/auth/access.ts). The declaration itself is
 * not published. An operation without one gets no `security` (and answers 404: nothing is public
 * by omission).
 */
export function decorateDocument(doc: Doc, origin: string): Doc {
  const out = structuredClone(doc) as Doc & { paths: Record<string, Record<string, Record<string, unknown>>> };
  out.servers = [{ url: origin, description: "This deployment" }];
  out.tags = TAGS;
  out.components = { ...out.components, securitySchemes: { ...SECURITY_SCHEMES } } as Doc["components"];
  for (const [path, item] of Object.entries(out.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== "object" || !("responses" in op)) continue;
      const access = op.access as Access | undefined;
      delete op.access;
      if (access) op.security = securityOf(access.need);
      op.operationId ??= operationId(method, path);
    }
  }
  return out;
}

// Swagger UI is a vendored, prebuilt bundle (scripts/build-web.mjs copies it from swagger-ui-dist into
// public/vendor/): this page only points at it and at /openapi.json, so nothing comes from a CDN.
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>docchat API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="/docs.css">
</head>
<body>
<header class="docs-bar"><a href="/">← Chat</a> <span>API reference</span> <a href="/openapi.json">openapi.json</a></header>
<main id="swagger-ui"><p class="docs-loading">Loading the API reference…</p></main>
<noscript><p>The interactive reference needs JavaScript. The raw description is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs.js"></script>
</body>
</html>
`;

// Swagger UI sets styles through the DOM and draws its icons from data: URIs; nothing else is needed.
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
