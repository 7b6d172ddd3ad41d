import cliProgress from 'cli-progress';
import { finishedStatuses, type Engine, type Job, type JobStreamState } from '@etl/core';
import { streamLabel } from './cli-output.js';

const width = 24;

interface BarPayload {
  label: string;
  status: JobStreamState['status'];
  loaded: number;
  rate: number;
}

/**
 * A source reports no totals up front, so a running stream's bar is indeterminate (a block sweeping
 * across) next to its counts and rate; only a finished stream's bar is full.
 */
function formatBar(_options: cliProgress.Options, params: cliProgress.Params, payload: BarPayload): string {
  let bar: string;
  if (payload.status === 'done') bar = '█'.repeat(width);
  else if (payload.status === 'waiting' || payload.status === 'queued') bar = '░'.repeat(width);
  else {
    const at = Math.floor(Date.now() / 150) % (width - 4);
    bar = `${'░'.repeat(at)}████${'░'.repeat(width - 4 - at)}`;
  }
  const rate = payload.rate > 0 ? `${Math.round(payload.rate)}/s` : '—/s';
  return `${payload.label.padEnd(16)} ${bar} ${String(params.value).padStart(7)} extracted ${String(payload.loaded).padStart(7)} loaded  ${rate.padStart(7)}  ${payload.status}`;
}

export interface SyncProgress {
  /** Redraws from the job's current state (polled by the caller). */
  update(job: Job): void;
  /** A line above the bars (throttling, interruption). */
  note(line: string): void;
  stop(): void;
}

/**
 * Live progress of one job on stderr: a bar per stream (cli-progress), with its rate; throttling by the
 * source is reported as it happens. `force` draws even when stderr is not a terminal (one frame a second).
 */
export function syncProgress(engine: Engine, job: Job, options: { force: boolean }): SyncProgress {
  const multibar = new cliProgress.MultiBar({
    format: formatBar,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    noTTYOutput: options.force,
    notTTYSchedule: 1_000,
    fps: 8,
  });
  const bars = new Map<string, { bar: cliProgress.SingleBar; samples: { at: number; value: number }[] }>();
  const unsubscribe = engine.events.subscribe((event) => {
    if (event.type === 'throttled' && event.integrationId === job.integrationId)
      multibar.log(`throttled by the source until ${event.until}: ${event.reason}\n`);
  });
  return {
    update(current) {
      for (const s of current.streamStates ?? []) {
        const key = streamLabel(s);
        let entry = bars.get(key);
        if (!entry) {
          const payload: BarPayload = { label: key, status: s.status, loaded: s.loaded, rate: 0 };
          entry = { bar: multibar.create(1, s.extracted, payload), samples: [] };
          bars.set(key, entry);
        }
        // Records per second over the last five seconds.
        const now = Date.now();
        entry.samples.push({ at: now, value: s.extracted });
        entry.samples = entry.samples.filter((x) => now - x.at <= 5_000);
        const first = entry.samples[0]!;
        const rate = now > first.at ? ((s.extracted - first.value) * 1000) / (now - first.at) : 0;
        entry.bar.update(s.extracted, { label: key, status: s.status, loaded: s.loaded, rate });
      }
      if (finishedStatuses.includes(current.status)) multibar.update();
    },
    note(line) {
      multibar.log(`${line}\n`);
    },
    stop() {
      unsubscribe();
      multibar.stop();
    },
  };
}
