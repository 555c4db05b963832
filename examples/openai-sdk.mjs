// The OpenAI SDK against docchat-edge, as in the README ("Use it from your tools"). The tests run
// these functions inside workerd (test/openai.test.ts); `npm run smoke` runs them against a server.
// `baseURL` is the deployment's origin + "/v1"; `apiKey` a temporary key (POST /get_temp_api_key).
import OpenAI from "openai";

export async function askWithSources(baseURL, apiKey, question, fetch) {
  const client = new OpenAI({ baseURL, apiKey, fetch });
  const completion = await client.chat.completions.create({
    model: "default", // the key's own collection; or a collection id from client.models.list()
    messages: [
      { role: "system", content: "Answer in one sentence." },
      { role: "user", content: question },
    ],
  });
  // `sources` is docchat-edge's extension: the passages the answer cites as [n].
  return { answer: completion.choices[0].message.content, sources: completion.sources };
}

export async function streamAnswer(baseURL, apiKey, question, fetch) {
  const client = new OpenAI({ baseURL, apiKey, fetch });
  const stream = await client.chat.completions.create({
    model: "default",
    messages: [{ role: "user", content: question }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let answer = "";
  let sources = [];
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.sources) sources = chunk.sources; // on the first chunk
    answer += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  return { answer, sources, usage };
}

export async function searchDocuments(baseURL, apiKey, collectionId, query, fetch) {
  const client = new OpenAI({ baseURL, apiKey, fetch });
  const models = await client.models.list();
  const page = await client.vectorStores.search(collectionId, {
    query,
    max_num_results: 3,
    filters: { type: "eq", key: "lang", value: "en" },
  });
  return { models: models.data.map((m) => m.id), results: page.data };
}
