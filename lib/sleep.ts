/**
 * Waiting that a shutdown can cut short: the retry loops (uploads, reports, WHEP pulls) sleep
 * through their backoff with it.
 * @module
 */

/** Resolves after `ms`, or as soon as `signal` aborts (at once when it already has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
