import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { assertCollectionAccess, requireKeyOrMaster } from "../auth/authenticate";
import { quotaExceeded } from "../auth/quotas";
import { parseSecrets } from "../config";
import { newWebhookSecret, sealSecret } from "../events/signing";
import { EVENT_TYPES } from "../events/types";
import { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH } from "../events/url";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json, jsonBody } from "../http/schemas";
import { requireCollection } from "../storage/collections";
import {
  countWebhooks,
  deleteWebhook,
  getWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  type WebhookRow,
} from "../storage/webhooks";
import { newId } from "../util/crypto";

/** Endpoints per collection: each event costs one queue message per endpoint. */
export const MAX_WEBHOOKS_PER_COLLECTION = 10;
const DELIVERY_LOG_LIMIT = 100;

const EventTypeSchema = z.enum(EVENT_TYPES);

const WebhookSchema = z
  .object({
    id: z.string(),
    collection_id: z.string(),
    url: z.string(),
    events: z.array(EventTypeSchema),
    description: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Webhook");

const CreateBody = z
  .object({
    url: z.string().max(MAX_WEBHOOK_URL_LENGTH).openapi({
      description:
        "https only; private, loopback, link-local and ULA addresses and local names are refused (here and before every delivery)",
      example: "https://hooks.example.com/docchat",
    }),
    events: z
      .array(EventTypeSchema)
      .min(1)
      .max(EVENT_TYPES.length)
      .refine((e) => new Set(e).size === e.length, { message: "events must not repeat" }),
    description: z.string().trim().max(500).optional(),
  })
  .openapi("CreateWebhook", { example: { url: "https://hooks.example.com/docchat", events: ["document.ready", "document.failed"] } });

const DeliverySchema = z
  .object({
    event_id: z.string().openapi({ description: "The `webhook-id` header of the event (the same on every attempt)" }),
    event_type: EventTypeSchema,
    attempt: z.number(),
    status: z.enum(["succeeded", "failed", "gave_up", "refused"]).openapi({
      description:
        "`failed`: this attempt failed and another is queued; `gave_up`: the last attempt failed (24 h after the event); `refused`: the URL is not allowed now",
    }),
    response_code: z.number().nullable(),
    error: z.string().nullable(),
    event_created_at: z.string(),
    attempted_at: z.string(),
  })
  .openapi("WebhookDelivery");

const ColParam = z.object({ id: z.string().min(1).max(64) });
const HookParam = z.object({ id: z.string().min(1).max(64), wid: z.string().min(1).max(64) });
const iso = (t: number) => new Date(t * 1000).toISOString();

function publicWebhook(w: WebhookRow) {
  return {
    id: w.id,
    collection_id: w.collection_id,
    url: w.url,
    events: JSON.parse(w.events) as z.infer<typeof EventTypeSchema>[],
    description: w.description,
    created_at: iso(w.created_at),
  };
}

const tags = ["Webhooks"];
const create = defineRoute({
  method: "post",
  path: "/v1/collections/{id}/webhooks",
  access: { need: need.key("admin") },
  tags,
  summary: "Register a webhook endpoint (master key or `admin` scope); the signing secret is returned once",
  description:
    "Deliveries are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` " +
    "of `id.timestamp.body` keyed with the base64-decoded part of the secret after `whsec_`), retried with exponential backoff for 24 h, " +
    "and idempotent by event id.",
  request: { params: ColParam, body: jsonBody(CreateBody) },
  responses: {
    201: json(WebhookSchema.extend({ secret: z.string().openapi({ description: "`whsec_…`: shown only in this response" }) }), "Created"),
    ...errorResponses(400, 401, 403, 404, 500),
  },
});
const list = defineRoute({
  method: "get",
  path: "/v1/collections/{id}/webhooks",
  access: { need: need.key("admin") },
  tags,
  summary: "List a collection's webhook endpoints (master key or `admin` scope)",
  request: { params: ColParam },
  responses: { 200: json(z.object({ webhooks: z.array(WebhookSchema) })), ...errorResponses(401, 403, 404, 500) },
});
const del = defineRoute({
  method: "delete",
  path: "/v1/collections/{id}/webhooks/{wid}",
  access: { need: need.key("admin") },
  tags,
  summary: "Remove a webhook endpoint and its delivery log; queued deliveries to it are dropped",
  request: { params: HookParam },
  responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) })), ...errorResponses(401, 403, 404, 500) },
});
const deliveries = defineRoute({
  method: "get",
  path: "/v1/collections/{id}/webhooks/{wid}/deliveries",
  access: { need: need.key("admin") },
  tags,
  summary: `The last ${DELIVERY_LOG_LIMIT} delivery attempts of an endpoint, newest first`,
  request: { params: HookParam },
  responses: { 200: json(z.object({ deliveries: z.array(DeliverySchema) })), ...errorResponses(401, 403, 404, 500) },
});

export function mountWebhooks(app: OpenAPIHono<AppEnv>): void {
  app.openapi(create, async (c) => {
    const p = await requireKeyOrMaster(c, "admin");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    const body = c.req.valid("json");
    const verdict = checkWebhookUrl(body.url, { allowLoopback: c.var.settings.WEBHOOK_ALLOW_LOOPBACK === 1 });
    if (!verdict.ok) {
      throw new ApiError("validation_error", `Invalid request: url: ${verdict.reason}`, {
        details: [{ path: "url", message: verdict.reason }],
      });
    }
    const used = await countWebhooks(c.env.DB, id);
    if (used >= MAX_WEBHOOKS_PER_COLLECTION) {
      throw quotaExceeded("webhooks_per_collection", MAX_WEBHOOKS_PER_COLLECTION, used, "webhook endpoints in this collection");
    }
    const secret = newWebhookSecret();
    const row: WebhookRow = {
      id: newId("wh"),
      collection_id: id,
      url: verdict.url.toString(),
      events: JSON.stringify(body.events),
      secret: "",
      description: body.description || null,
      created_at: Math.floor(Date.now() / 1000),
    };
    row.secret = await sealSecret(parseSecrets(c.env).MASTER_API_KEY, row.id, secret);
    await insertWebhook(c.env.DB, row);
    return c.json({ ...publicWebhook(row), secret }, 201);
  });

  app.openapi(list, async (c) => {
    const p = await requireKeyOrMaster(c, "admin");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    return c.json({ webhooks: (await listWebhooks(c.env.DB, id)).map(publicWebhook) }, 200);
  });

  app.openapi(del, async (c) => {
    const p = await requireKeyOrMaster(c, "admin");
    const { id, wid } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    if (!(await getWebhook(c.env.DB, id, wid))) throw new ApiError("not_found", "Webhook not found");
    await deleteWebhook(c.env.DB, wid);
    return c.json({ id: wid, deleted: true as const }, 200);
  });

  app.openapi(deliveries, async (c) => {
    const p = await requireKeyOrMaster(c, "admin");
    const { id, wid } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    if (!(await getWebhook(c.env.DB, id, wid))) throw new ApiError("not_found", "Webhook not found");
    const rows = await listDeliveries(c.env.DB, wid, DELIVERY_LOG_LIMIT);
    return c.json(
      {
        deliveries: rows.map((d) => ({
          ...d,
          event_type: d.event_type as z.infer<typeof EventTypeSchema>,
          event_created_at: iso(d.event_created_at),
          attempted_at: iso(d.attempted_at),
        })),
      },
      200,
    );
  });
}
