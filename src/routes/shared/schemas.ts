import { ClaimSchema as BaseClaim, HeadinglessSourceSchema, SourceSchema as BaseSource } from "../../chat/source";

/** The chat routes' source (src/chat/source.ts), named for the OpenAPI document. */
export const SourceSchema = BaseSource.openapi("Source");
/** OpenAI-style and MCP clients get the source without its heading. */
export const CompletionSourceSchema = HeadinglessSourceSchema.openapi("CompletionSource");
/** An answer sentence and its verified source spans. */
export const ClaimSchema = BaseClaim.openapi("Claim");
