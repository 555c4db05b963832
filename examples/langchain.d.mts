// Types of examples/langchain.mjs for the TypeScript tests that run it.
type Fetch = (url: string | URL | Request, init?: RequestInit) => Promise<Response>;
export function askWithLangChain(baseURL: string, apiKey: string, question: string, fetch?: Fetch): Promise<unknown>;
