// Types of examples/mcp-client.mjs for the TypeScript tests that run it.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
type Fetch = (url: string | URL | Request, init?: RequestInit) => Promise<Response>;
// biome-ignore lint/suspicious/noExplicitAny: structured tool output is read loosely
type Json = Record<string, any>;
export function connectMcp(origin: string, apiKey: string, fetch?: Fetch): Promise<Client>;
export function askOverMcp(
  origin: string,
  apiKey: string,
  question: string,
  fetch?: Fetch,
): Promise<{ tools: string[]; answer: string; sources: Json[] }>;
