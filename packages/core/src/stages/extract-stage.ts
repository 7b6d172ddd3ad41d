import pLimit, { type LimitFunction } from 'p-limit';
import type { Connector, ConnectorEvent, Page } from '../connector/connector.js';
import type { EngineRuntime } from './stage-runtime.js';
import type { ExtractTask } from './stage-tasks.js';
import { EtlError, describeError, isEtlError } from '../errors.js';
import { sleep } from '../sleep.js';
import { finishedStatuses, type Job } from '../model/jobs.js';
import type { EngineEventPayload } from '../model/events.js';
import type { QueueMessage } from '../queue/queue.js';
import type { StreamLease } from '../stores/job-store.js';
import { isPermanentSourceError, type HttpClient } from '../source/http-client.js';
import { nextStreams } from './next-streams.js';

/** Errors that no retry can fix: the stream fails at once instead of burning attempts. */
const permanentCodes = new Set([
  'auth_failed',
  'forbidden',
  'invalid_config',
  'not_found',
  'secret_key',
  'unknown_connector',
]);

/**
 * The extract stage: runs one stream (or partition) of a job from its checkpoint, page by page; each page's raw
 * rows and checkpoint commit together, then a transform message carries their ids.
 */
export function extractStage(rt: EngineRuntime) {
  const {
    db,
    queue,
    jobs,
    raw,
    checkpoints,
    integrations,
    sourceHttp,
    emit,
    progressDue,
    publishTransforms,
    finish,
    connectors,
  } = rt;
  const opts = { maxParallelStreams: rt.maxParallelStreams, maxInFlightRecords: rt.maxInFlightRecords };
  const limiters = new Map<string, LimitFunction>();

  async function handleExtract(message: QueueMessage) {
    const task = message.body as ExtractTask;
    const job = await jobs.get(task.jobId).catch((e: unknown) => {
      if (isEtlError(e, 'not_found')) return undefined;
      throw e;
    });
    if (!job || finishedStatuses.includes(job.status)) return;
    const state = await jobs.stream(task);
    if (!state || ['done', 'failed', 'skipped', 'cancelled'].includes(state.status)) return;
    if (job.status === 'paused') {
      await jobs.setStreamStatus(task, 'paused');
      return;
    }
    if (job.status === 'queued') {
      const running = await jobs.transition(job.id, 'start');
      if (running) await emit({ type: 'job.status', jobId: job.id, status: 'running' });
    }
    const limit = limiterFor(job.integrationId);
    await limit(() => extractStream(job, task, message));
  }

  function limiterFor(integrationId: string) {
    let limit = limiters.get(integrationId);
    if (!limit) limiters.set(integrationId, (limit = pLimit(opts.maxParallelStreams)));
    return limit;
  }

  async function extractStream(job: Job, task: ExtractTask, message: QueueMessage) {
    let resolved;
    try {
      resolved = await integrations.resolve(job.integrationId);
    } catch (error) {
      // An integration that cannot be decrypted (wrong key) or whose connector is gone fails the stream now.
      if (isEtlError(error) && permanentCodes.has(error.code)) {
        await failStream(job, task, error);
        return;
      }
      throw error;
    }
    const { connector, config, secretOrigin } = resolved;
    const definition = connector.streams.find((d) => d.name === task.stream);
    if (!definition)
      throw new EtlError('invalid_input', `connector ${connector.name} has no stream "${task.stream}"`);
    // One owner per stream: taking the lease fences every earlier holder (a redelivery's zombie, a duplicate).
    const taken = await jobs.takeStreamLease(task, rt.workerId, rt.streamLeaseMs);
    if (!taken) return;
    const { lease } = taken;
    const abort = new AbortController();
    const release = watchOwnership(message, lease, abort);
    let run: ReturnType<typeof connectorContext>;
    try {
      run = connectorContext(job, task, connector, config, secretOrigin, abort.signal);
    } catch (refused) {
      // A base URL the host's guard refuses (or that is no URL): no retry changes that.
      release();
      await failStream(job, task, refused);
      return;
    }
    const { base, requests } = run;
    try {
      if (definition.partitioned && task.partition === null) {
        await fanOutPartitions(job, task, connector, base);
        // The parent's partitions carry their own leases from here on.
        await jobs.releaseStreamLease(lease);
        return;
      }
      if (taken.pages > 0 || message.attempt > 1) {
        // A redelivered or resumed task: re-publish pages committed before a crash could publish them.
        await publishTransforms(
          job.id,
          task.stream,
          task.partition,
          await raw.pendingIds(job.id, task.stream, task.partition),
        );
      }
      let checkpoint: unknown = taken.cursor ?? null;
      if (checkpoint === null && job.mode === 'incremental') {
        checkpoint = await checkpoints.get(job.integrationId, task.stream, task.partition);
      }
      const iterator = connector.extractor
        .extract({ ...base, partition: task.partition, checkpoint })
        [Symbol.asyncIterator]();
      if (!(await extractPages(job, task, lease, iterator, taken.pages, abort, requests))) return;
      await completeStream(job, task, 'done');
    } catch (error) {
      abort.abort();
      await extractionFailed(job, task, message, error);
    } finally {
      release();
      void base.http.close().catch(() => undefined);
    }
  }

  /**
   * Aborts the extraction when this process stops owning the stream: its delivery can no longer be acknowledged
   * (the queue hands it to another consumer), or its lease could not be renewed. Returns the clean-up.
   */
  function watchOwnership(message: QueueMessage, lease: StreamLease, abort: AbortController): () => void {
    const onDeliveryLost = () => abort.abort();
    message.signal?.addEventListener('abort', onDeliveryLost, { once: true });
    if (message.signal?.aborted) abort.abort();
    const renewal = setInterval(
      () => {
        jobs.renewStreamLease(lease).then(
          (held) => held || abort.abort(),
          // A failed renewal is not a loss: the next page commit checks the lease anyway.
          () => undefined,
        );
      },
      Math.max(Math.floor(rt.streamLeaseMs / 3), 100),
    );
    renewal.unref();
    return () => {
      clearInterval(renewal);
      message.signal?.removeEventListener('abort', onDeliveryLost);
    };
  }

  /**
   * What the connector's extractor sees of the job: its HTTP client (the host's guard, the integration's gate,
   * the secret bound to its origin) and an `emit` whose events become job events; `requests` counts the run's.
   */
  function connectorContext(
    job: Job,
    task: ExtractTask,
    connector: Connector,
    config: unknown,
    secretOrigin: string | null,
    signal: AbortSignal,
  ) {
    const requests = { sent: 0 };
    const emitEvent = (event: ConnectorEvent) => {
      if (event.type === 'request') requests.sent += 1;
      const payload = jobEvent(job, task, event);
      if (payload) void emit(payload);
    };
    const http: HttpClient = sourceHttp.client(connector, config, {
      integrationId: job.integrationId,
      jobId: job.id,
      signal,
      emit: emitEvent,
      secretOrigin,
    });
    const base = {
      integrationId: job.integrationId,
      jobId: job.id,
      config,
      stream: task.stream,
      mode: job.mode,
      window: job.window ?? undefined,
      signal,
      http,
      emit: emitEvent,
    };
    return { base, requests };
  }

  /** A connector's event as a job event: throttles and warnings always, requests only when not 2xx. */
  function jobEvent(job: Job, task: ExtractTask, event: ConnectorEvent): EngineEventPayload | null {
    const { id: jobId, integrationId } = job;
    if (event.type === 'throttled')
      return { type: 'throttled', jobId, integrationId, until: event.until, reason: event.reason };
    if (event.type === 'warning')
      return { type: 'error', jobId, stage: 'extract', stream: task.stream, message: event.message };
    // Answers that are not 2xx are worth a row each; the others are counted in the stream's progress.
    if (event.status >= 200 && event.status < 300) return null;
    const { method, url, status } = event;
    return {
      type: 'source.request',
      jobId,
      stream: task.stream,
      partition: task.partition,
      method,
      url,
      status,
    };
  }

  /**
   * Reads the stream page by page, each page written (raw rows, counters, checkpoint) in one transaction, reading
   * the next page ahead meanwhile. True when the source is exhausted; false when the extraction stopped early
   * (paused, cancelled, or no longer this process's to run).
   */
  async function extractPages(
    job: Job,
    task: ExtractTask,
    lease: StreamLease,
    source: AsyncIterator<Page>,
    pagesBefore: number,
    abort: AbortController,
    requests: { sent: number },
  ): Promise<boolean> {
    const started = Date.now();
    let extracted = 0;
    let pageCount = pagesBefore;
    const stop = () => {
      abort.abort();
      // The page read ahead is dropped: its checkpoint was never saved, so a resume reads it again.
      void source.return?.(undefined)?.catch(() => undefined);
    };
    let next = source.next();
    for (;;) {
      const result = await next;
      if (result.done) break;
      if (abort.signal.aborted) {
        // Lost delivery or lost lease: nothing of this page is written; the new owner reads it again.
        stop();
        return false;
      }
      const page = result.value;
      // Serialised before reading ahead: an extractor may reuse the objects it yielded for the next page.
      const records = JSON.stringify(
        page.records.map((r) => ({ source_id: String(r.sourceId), payload: r.payload ?? null })),
      );
      const cursor = JSON.stringify(page.checkpoint ?? null);
      // Read ahead: the source fetches the next page while this one is being written.
      next = source.next();
      next.catch(() => undefined);
      const written = await writePage(job, task, lease, page.records.length, records, cursor);
      extracted += written.ids.length;
      pageCount++;
      await publishTransforms(job.id, task.stream, task.partition, written.ids);
      await streamProgress(job.id, task, { pageCount, extracted, requests: requests.sent, started }, false);
      if (written.status !== 'running') {
        stop();
        return false;
      }
      if (written.lag > opts.maxInFlightRecords) await waitForLoads(job.id, abort.signal);
    }
    await streamProgress(job.id, task, { pageCount, extracted, requests: requests.sent, started }, true);
    return true;
  }

  /** One page in one transaction: the fencing check, raw rows, stream and job counters, the checkpoint. */
  function writePage(
    job: Job,
    task: ExtractTask,
    lease: StreamLease,
    recordCount: number,
    recordsJson: string,
    cursor: string,
  ) {
    return db.transaction(async (tx) => {
      // The fencing check, first: a stale owner's page is refused whole (raw rows, checkpoint, counters).
      await jobs.fenceStreamPage(tx, lease);
      const ids = recordCount
        ? await raw.insertPage(tx, {
            jobId: job.id,
            integrationId: job.integrationId,
            stream: task.stream,
            partition: task.partition,
            recordsJson,
          })
        : [];
      // Lock order everywhere: the stream row, then the job row. Resume locks stream rows first too, so the
      // status read below and a concurrent pause / resume never leave a stream paused in a running job.
      const { status, lag } = await jobs.recordPage(tx, task, cursor, ids.length);
      if (job.mode !== 'backfill') {
        await checkpoints.save(tx, job.integrationId, task.stream, task.partition, cursor);
      }
      // Pause stops here, at a page boundary, with this page's checkpoint kept; cancel stops for good.
      if (status === 'paused') await jobs.setStreamStatus(task, 'paused', undefined, tx);
      if (status === 'cancelled' || status === 'failed')
        await jobs.setStreamStatus(task, 'cancelled', undefined, tx);
      return { ids, status, lag };
    });
  }

  /** A failed extraction: retried while attempts remain and the error is transient, else the stream fails. */
  async function extractionFailed(job: Job, task: ExtractTask, message: QueueMessage, error: unknown) {
    // Fenced, or the delivery is gone: another owner has (or will get) the stream; stop without a trace.
    if (isEtlError(error, 'fenced') || message.signal?.aborted) return;
    // The HTTP client has already retried what a retry can fix, in bounded time (an unreachable host included).
    const permanent = (isEtlError(error) && permanentCodes.has(error.code)) || isPermanentSourceError(error);
    if (!permanent && !message.final) throw error;
    await failStream(job, task, error);
  }

  async function failStream(job: Job, task: ExtractTask, error: unknown) {
    const text = describeError(error);
    await jobs.addError(job.id, {
      at: new Date().toISOString(),
      stage: 'extract',
      stream: task.stream,
      message: text,
    });
    await emit({ type: 'error', jobId: job.id, stage: 'extract', stream: task.stream, message: text });
    await completeStream(job, task, 'failed', text);
  }

  async function fanOutPartitions(
    job: Job,
    task: ExtractTask,
    connector: Connector,
    base: Parameters<NonNullable<Connector['extractor']['partitions']>>[0],
  ) {
    if (!connector.extractor.partitions) {
      throw new EtlError(
        'invalid_config',
        `stream ${task.stream} is partitioned but connector ${connector.name} has no partitions()`,
      );
    }
    const keys = [
      ...new Set(
        await connector.extractor.partitions({
          ...base,
          records: (stream) => raw.latestPayloads(job.integrationId, stream),
        }),
      ),
    ];
    if (keys.length === 0) {
      await completeStream(job, task, 'done');
      return;
    }
    const pending = await jobs.addPartitions(job.id, task.stream, keys);
    if (pending.length === 0) {
      await completeStream(job, task, 'done');
      return;
    }
    await queue.publish(
      'extract',
      pending.map((partition): ExtractTask => ({ jobId: job.id, stream: task.stream, partition })),
    );
  }

  async function streamProgress(
    jobId: string,
    task: ExtractTask,
    run: { pageCount: number; extracted: number; requests: number; started: number },
    done: boolean,
  ) {
    const { pageCount: pages, extracted, requests, started } = run;
    if (!progressDue(`${jobId}:${task.stream}:${task.partition ?? ''}`, done)) return;
    const state = await jobs.stream(task);
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    await emit({
      type: 'stream.progress',
      jobId,
      stream: task.stream,
      partition: task.partition,
      extracted: state?.extracted ?? extracted,
      loaded: state?.loaded ?? 0,
      pages,
      requests,
      done,
      recordsPerSecond: Math.round(extracted / seconds),
    });
  }

  /** Backpressure: waits while the job has more records in flight than `maxInFlightRecords`. */
  async function waitForLoads(jobId: string, signal: AbortSignal) {
    for (let delay = 5; !signal.aborted; delay = Math.min(delay * 2, 200)) {
      if ((await jobs.lag(jobId)) <= opts.maxInFlightRecords) return;
      await sleep(delay, signal).catch(() => undefined);
    }
  }

  async function completeStream(job: Job, task: ExtractTask, status: 'done' | 'failed', error?: string) {
    const unblocked = await jobs.completeStream(task, status, error, (states) =>
      nextStreams(connectors.get(job.connector), states),
    );
    if (unblocked.length > 0) {
      await queue.publish(
        'extract',
        unblocked.map((stream): ExtractTask => ({ jobId: job.id, stream, partition: null })),
      );
    }
    await finish(job.id);
  }

  return { handleExtract };
}
