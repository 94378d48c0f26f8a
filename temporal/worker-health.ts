/**
 * Liveness of a worker process, for orchestrators (docker-compose, Kubernetes
 * exec probes): the worker serves no HTTP, so while its Temporal worker is
 * running it touches a file, and the check passes only while that file is
 * fresh. A stopped, stuck or dead worker stops touching it and fails the check.
 *
 *   WORKER_HEALTH_FILE=/tmp/merchflow-worker.alive node dist/temporal/worker-main.js
 *   node dist/temporal/worker-health.js    # exit 0 when fresh, 1 otherwise
 */
import fs from 'node:fs';

/** How often a running worker touches its health file. */
export const HEALTH_TOUCH_MS = 5_000;
/** How old the file may be before the worker counts as unhealthy. */
export const HEALTH_MAX_AGE_MS = 30_000;

/** Touches `file` every `everyMs` while `running()` says so; the returned stop removes it. */
export function keepHealthFile(file: string, running: () => boolean, everyMs = HEALTH_TOUCH_MS): () => void {
  const touch = () => {
    if (!running()) return;
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      fs.writeFileSync(file, `${process.pid}\n`);
    }
  };
  touch();
  const timer = setInterval(touch, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    fs.rmSync(file, { force: true });
  };
}

/** Whether `file` was touched within `maxAgeMs` of `now`. */
export function healthFileFresh(file: string, maxAgeMs = HEALTH_MAX_AGE_MS, now = Date.now()): boolean {
  try {
    return now - fs.statSync(file).mtimeMs <= maxAgeMs;
  } catch {
    return false;
  }
}

if (require.main === module) {
  const file = process.env.WORKER_HEALTH_FILE;
  if (!file) {
    console.error('worker-health: WORKER_HEALTH_FILE is not set');
    process.exit(1);
  }
  process.exit(healthFileFresh(file) ? 0 : 1);
}
