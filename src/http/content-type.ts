/**
 * The one content-type predicate of the JSON bodies: the same test @hono/zod-openapi applies to pick
 * its JSON validator (`/^application\/([a-z-.]+\+)?json/i`), so a handler never disagrees with the
 * validator about what it received (e.g. `application/vnd.api+json` is JSON for both, and
 * `multipart/form-data; x=application/json` is JSON for neither).
 */
const JSON_TYPE = /^application\/([a-z-.]+\+)?json/i;

export function isJsonContentType(contentType: string | null | undefined): boolean {
  return !!contentType && JSON_TYPE.test(contentType);
}
