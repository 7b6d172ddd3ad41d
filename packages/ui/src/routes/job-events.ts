import { finishedStatuses, type Engine, type EngineEvent } from '@etl/core';
import type { Handler } from 'hono';
import { streamSSE } from 'hono/streaming';
import { eventsQuery } from '../api-schemas.js';
import { parseInput, readQuery } from '../request-input.js';

const heartbeatMs = 15_000;
const backlogPage = 500;

/**
 * `GET /api/jobs/:id/events`: Server-Sent Events for one job. Replays the events after `Last-Event-ID`
 * (header, or `lastEventId` query; all of them on a first connect), sends a `job` snapshot, then follows
 * live events; ends with an `end` event carrying the final job once it has finished.
 */
export function jobEventsHandler(engine: Engine): Handler {
  return async (c) => {
    const jobId = c.req.param('id')!;
    const query = readQuery(c, eventsQuery);
    const header = c.req.header('last-event-id');
    const afterId =
      header !== undefined && header !== ''
        ? parseInput('Last-Event-ID', eventsQuery.shape.lastEventId, header)
        : query.lastEventId;
    await engine.jobs.get(jobId);
    c.header('Cache-Control', 'no-store');
    c.header('X-Accel-Buffering', 'no');

    return streamSSE(c, async (stream) => {
      let lastId = afterId ?? 0;
      let finished = false;
      const pending: EngineEvent[] = [];
      let wake: (() => void) | undefined;
      const signal = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const unsubscribe = engine.events.subscribe(
        (event) => {
          pending.push(event);
          signal();
        },
        { jobId },
      );
      stream.onAbort(() => {
        unsubscribe();
        signal();
      });

      const send = async (event: EngineEvent) => {
        if (event.id <= lastId) return;
        lastId = event.id;
        await stream.writeSSE({ id: String(event.id), event: event.type, data: JSON.stringify(event) });
        if (event.type === 'job.status' && finishedStatuses.includes(event.status)) finished = true;
      };

      try {
        await stream.writeSSE({ event: 'ready', data: '{}', retry: 2000 });
        for (;;) {
          const backlog = await engine.events.since(lastId, { jobId, limit: backlogPage });
          for (const event of backlog) await send(event);
          if (backlog.length < backlogPage || stream.aborted) break;
        }
        const current = await engine.jobs.get(jobId);
        await stream.writeSSE({ event: 'job', data: JSON.stringify(current) });
        if (finishedStatuses.includes(current.status)) finished = true;
        while (!stream.aborted && !stream.closed) {
          pending.sort((a, b) => a.id - b.id);
          while (pending.length > 0) await send(pending.shift()!);
          if (finished) {
            await stream.writeSSE({ event: 'end', data: JSON.stringify(await engine.jobs.get(jobId)) });
            break;
          }
          const woke = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (!woke && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  };
}
