import type { RegistryServices } from './context.js';

export interface JanitorReport {
  uploadsPurged: number;
  blobsRemoved: number;
}

/**
 * Housekeeping: purges abandoned upload sessions and their staging files, then removes blob
 * files that no repository links and no manifest references. Blobs younger than the grace
 * period stay, so a push that uploaded a blob but has not yet linked it never loses it.
 */
export async function runJanitor(s: RegistryServices, now = Date.now()): Promise<JanitorReport> {
  const uploadsPurged = await s.uploads.purge(now - s.config.uploadMaxAgeMs);
  let blobsRemoved = 0;
  const graceCutoff = now - s.config.gcGraceMs;
  for await (const b of s.blobs.list()) {
    if (b.modified.getTime() < graceCutoff && !s.meta.blobInUse(b.digest)) {
      await s.blobs.delete(b.digest);
      blobsRemoved++;
    }
  }
  if (uploadsPurged || blobsRemoved) s.log.info({ event: 'janitor', uploadsPurged, blobsRemoved }, 'janitor ran');
  return { uploadsPurged, blobsRemoved };
}

/** Runs the janitor on an interval; returns a function that stops it. */
export function scheduleJanitor(s: RegistryServices): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runJanitor(s)
      .catch((err) => s.log.error({ err }, 'janitor failed'))
      .finally(() => {
        running = false;
      });
  }, s.config.janitorIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
