import type { Context } from "hono";
import { assertCollectionAccess } from "../../auth/authenticate";
import type { Principal } from "../../auth/principal";
import type { AppEnv } from "../../http/context";
import { ApiError } from "../../http/errors";
import { requireCachedCollection } from "../../storage/collection-cache";
import type { Collection } from "../../storage/collections";

// Which collection a `model` names.

/** The collections a principal may chat with or search: the master key all, a key its own ("default" too). */
export async function collectionForModel(c: Context<AppEnv>, p: Principal, model: string): Promise<Collection> {
  let id = model;
  if (model === "default") {
    const own = p.kind === "key" ? p.key.collection_id : p.kind === "session" ? p.claims.col : null;
    if (!own) throw new ApiError("not_found", "Model `default` names the key's own collection; this key has none, so name a collection id");
    id = own;
  }
  try {
    assertCollectionAccess(p, id);
    return await requireCachedCollection(c.env, id);
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_found") throw new ApiError("not_found", `The model '${model}' does not exist`);
    throw err;
  }
}
