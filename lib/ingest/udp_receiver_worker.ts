/**
 * The receiving thread of {@linkcode import("./udp_receiver.ts").bindUdp}: owns the sockets,
 * drains them as soon as datagrams arrive, and hands them to the main thread in batches. Its event
 * loop does nothing else, so a busy main thread (segments, storage, garbage collection) delays
 * the batches but never leaves a socket's kernel buffer to overflow.
 * @module
 */

/// <reference lib="deno.worker" />

import type { ToReceiver, ToRecorder } from "./udp_receiver.ts";

/** Bytes of one batch; a datagram is at most 64 KiB. */
const BATCH_BYTES = 256 * 1024;
/** Most datagrams in one batch. */
const BATCH_DATAGRAMS = 2048;
/** How long a datagram may wait for its batch to fill, ms. */
const FLUSH_MS = 4;
/**
 * Bytes handed over but not yet taken by the main thread beyond which datagrams are dropped
 * (and counted): a main thread that stopped must not make this thread grow without bound. At
 * 200 streams of 2 Mbit/s that is ten seconds: a main thread that falls behind for a while
 * (64 MiB, a second there, lost a GOP of every stream in a 10-minute soak) catches up.
 */
const MAX_IN_FLIGHT = 512 * 1024 * 1024;

const bindings = new Map<number, Deno.DatagramConn[]>();
const dropped = new Map<number, number>();
let inFlight = 0;

/** Buffers of batches the main thread handed back: a steady stream allocates none. */
const spare: { bytes: ArrayBuffer; meta: ArrayBuffer }[] = [];
let bytes = new Uint8Array(BATCH_BYTES);
/** Per datagram: binding id, socket index, length, arrival (µs since the epoch). */
let meta = new Float64Array(BATCH_DATAGRAMS * 4);
let used = 0;
let count = 0;
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: ToRecorder, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (count === 0 && dropped.size === 0) return;
  post(
    { type: "batch", bytes: bytes.buffer, meta: meta.buffer, count, dropped: [...dropped] },
    [bytes.buffer, meta.buffer],
  );
  inFlight += used;
  dropped.clear();
  const next = spare.pop();
  bytes = new Uint8Array(next?.bytes ?? new ArrayBuffer(BATCH_BYTES));
  meta = new Float64Array(next?.meta ?? new ArrayBuffer(BATCH_DATAGRAMS * 4 * 8));
  used = 0;
  count = 0;
}

function append(id: number, index: number, data: Uint8Array): void {
  if (inFlight > MAX_IN_FLIGHT) {
    dropped.set(id, (dropped.get(id) ?? 0) + 1);
  } else {
    if (used + data.length > BATCH_BYTES || count === BATCH_DATAGRAMS) flush();
    bytes.set(data, used);
    used += data.length;
    const at = count++ * 4;
    meta[at] = id;
    meta[at + 1] = index;
    meta[at + 2] = data.length;
    meta[at + 3] = Date.now() * 1000;
  }
  flushTimer ??= setTimeout(flush, FLUSH_MS);
}

async function receive(id: number, index: number, conn: Deno.DatagramConn): Promise<void> {
  const buffer = new Uint8Array(65536);
  for (;;) {
    let data: Uint8Array;
    try {
      [data] = await conn.receive(buffer);
    } catch (error) {
      if (bindings.get(id)?.includes(conn)) {
        post({ type: "failed", id, message: (error as Error).message });
      }
      return;
    }
    append(id, index, data);
  }
}

function bind(id: number, addresses: readonly { hostname: string; port: number }[]): void {
  const conns: Deno.DatagramConn[] = [];
  try {
    for (const { hostname, port } of addresses) {
      try {
        conns.push(Deno.listenDatagram({ transport: "udp", hostname, port }));
      } catch (error) {
        throw new Error(`Cannot bind UDP ${hostname}:${port}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    for (const conn of conns) conn.close();
    post({ type: "bound", id, error: (error as Error).message });
    return;
  }
  bindings.set(id, conns);
  post({ type: "bound", id });
  conns.forEach((conn, index) => receive(id, index, conn));
}

function unbind(id: number): void {
  const conns = bindings.get(id);
  bindings.delete(id);
  for (const conn of conns ?? []) conn.close();
  // What this binding received before it closed still reaches the main thread.
  flush();
  post({ type: "unbound", id });
}

self.onmessage = (event: MessageEvent<ToReceiver>) => {
  const message = event.data;
  if (message.type === "bind") bind(message.id, message.addresses);
  else if (message.type === "unbind") unbind(message.id);
  else {
    inFlight -= message.length;
    if (spare.length < 16) spare.push({ bytes: message.bytes, meta: message.meta });
  }
};
