// LangChain's ChatOpenAI against docchat-edge, as in the README ("Use it from your tools").
// test/openai.test.ts runs it inside workerd.
import { ChatOpenAI } from "@langchain/openai";

export async function askWithLangChain(baseURL, apiKey, question, fetch) {
  const llm = new ChatOpenAI({ model: "default", apiKey, configuration: { baseURL, fetch } });
  const reply = await llm.invoke([
    ["system", "Answer in one sentence."],
    ["human", question],
  ]);
  return reply.content;
}
