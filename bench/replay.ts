/**
 * Runs the replayer worker for one step and hands back its start and its result.
 * @module
 */

import type { ReplayJob, ReplayResult, ReplayStarted, ReplayStream } from "./replayer_worker.ts";
import { boundUdpPorts } from "./proc.ts";

export type { ReplayResult, ReplayStream };

/** A replay under way. */
export interface Replay {
  readonly started: Promise<ReplayStarted>;
  readonly done: Promise<ReplayResult>;
}

/** Starts replaying `job` in a new worker; the worker ends with the replay. */
export function startReplay(job: ReplayJob): Replay {
  const worker = new Worker(new URL("./replayer_worker.ts", import.meta.url), { type: "module" });
  const started = Promise.withResolvers<ReplayStarted>();
  const done = Promise.withResolvers<ReplayResult>();
  worker.onmessage = (event: MessageEvent<ReplayStarted | ReplayResult>) => {
    if (event.data.type === "started") started.resolve(event.data);
    else {
      done.resolve(event.data);
      worker.terminate();
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const error = new Error(`Replayer failed: ${event.message}`);
    started.reject(error);
    done.reject(error);
    worker.terminate();
  };
  worker.postMessage(job);
  return { started: started.promise, done: done.promise };
}

/**
 * `n` stream port quadruples (video RTP/RTCP, audio RTP/RTCP) from one free range; the streams'
 * first packets staggered evenly over one GOP so their keyframes do not all arrive at once.
 */
export function allocateStreams(n: number, gopMs = 2000): ReplayStream[] {
  const bound = boundUdpPorts();
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + 4 * Math.floor(Math.random() * ((40000 - 4 * n) / 4));
    let free = true;
    for (let p = base; p < base + 4 * n && free; p++) free = !bound.has(p);
    if (!free) continue;
    return Array.from({ length: n }, (_, i) => ({
      videoPort: base + 4 * i,
      audioPort: base + 4 * i + 2,
      startDelayMs: (i * gopMs) / n,
      seed: 0x5eed + i,
    }));
  }
  throw new Error(`No free range of ${4 * n} UDP ports`);
}

/** A free TCP port on 127.0.0.1. */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves once every port in `ports` is bound (someone listens), or rejects after `timeoutMs`. */
export async function waitForUdpPorts(ports: readonly number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bound = boundUdpPorts();
    const missing = ports.filter((p) => !bound.has(p));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`UDP ports not bound in time: ${missing.slice(0, 5)}…`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
