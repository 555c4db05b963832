import { createParser, type EventSourceMessage } from "eventsource-parser";

/** Every event of a complete server-sent-event body, parsed by `eventsource-parser` as the server and the page do. */
export function sseEvents(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e) });
  parser.feed(text);
  parser.feed("\n\n");
  return events;
}
