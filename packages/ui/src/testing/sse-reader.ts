/** One parsed Server-Sent Event. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * Reads Server-Sent Events from a response until `until` returns true for one of them, the stream ends,
 * or `timeoutMs` passes; then cancels the stream.
 */
export async function readSse(
  response: Response,
  options: { until?: (message: SseMessage) => boolean; timeoutMs?: number } = {},
): Promise<SseMessage[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: SseMessage[] = [];
  let buffer = '';
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  try {
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(
          `no matching event within the time limit; got ${messages.map((m) => m.event).join(', ')}`,
        );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining))),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) return messages;
      buffer += chunk.value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = { event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') message.event = value;
          else if (field === 'id') message.id = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length === 0 && message.id === undefined && message.event === 'message') continue;
        message.data = data.join('\n');
        messages.push(message);
        if (options.until?.(message)) return messages;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
