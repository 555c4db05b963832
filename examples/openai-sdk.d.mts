// Types of examples/openai-sdk.mjs for the TypeScript tests that run it.
type Fetch = (url: string | URL | Request, init?: RequestInit) => Promise<Response>;
// biome-ignore lint/suspicious/noExplicitAny: the example returns the SDK's loosely typed extension fields
type Json = Record<string, any>;
export function askWithSources(
  baseURL: string,
  apiKey: string,
  question: string,
  fetch?: Fetch,
): Promise<{ answer: string | null; sources: Json[] }>;
export function streamAnswer(
  baseURL: string,
  apiKey: string,
  question: string,
  fetch?: Fetch,
): Promise<{ answer: string; sources: Json[]; usage: Json }>;
export function searchDocuments(
  baseURL: string,
  apiKey: string,
  collectionId: string,
  query: string,
  fetch?: Fetch,
): Promise<{ models: string[]; results: Json[] }>;
