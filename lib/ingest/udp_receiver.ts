/**
 * UDP reception on a thread of its own. Every binding of the process shares one worker
 * (`udp_receiver_worker.ts`) that drains the sockets and hands datagrams over in batches of a few
 * milliseconds, so the main thread pays one message per batch instead of one receive per
 * datagram, and a main thread busy for a while (a burst of segments, a garbage collection)
 * does not make the kernel drop datagrams of hundreds of streams. The worker stops when the last
 * binding closes.
 * @module
 */

/** A message to the receiving worker. */
export type ToReceiver =
  | { type: "bind"; id: number; addresses: readonly UdpAddress[] }
  | { type: "unbind"; id: number }
  /** A batch the main thread has handled, its buffers handed back for the next batches. */
  | { type: "taken"; bytes: ArrayBuffer; meta: ArrayBuffer; length: number };

/** A message from the receiving worker. */
export type ToRecorder =
  | { type: "bound"; id: number; error?: string }
  | {
    type: "batch";
    bytes: ArrayBuffer;
    /** Per datagram: binding id, socket index, length, arrival (µs since the epoch). */
    meta: ArrayBuffer;
    count: number;
    /** Datagrams dropped per binding id since the last batch (the main thread fell behind). */
    dropped: [number, number][];
  }
  | { type: "failed"; id: number; message: string }
  | { type: "unbound"; id: number };

/** An address to bind. */
export interface UdpAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Called with each datagram, in arrival order per socket: the index of its socket in the
 * addresses bound, a view that is valid only during the call, and its arrival time.
 */
export type DatagramHandler = (index: number, data: Uint8Array, arrivalUs: number) => void;

/** What {@linkcode bindUdp} calls. */
export interface UdpHandlers {
  readonly onDatagram: DatagramHandler;
  /** Called with a count of datagrams dropped because the main thread fell 512 MiB behind. */
  readonly onDropped?: (count: number) => void;
}

/** Bound sockets. */
export interface UdpBinding {
  /**
   * Resolves once {@linkcode UdpBinding.close} was called and every datagram received before
   * was handled; rejects when receiving fails or the handler throws.
   */
  readonly done: Promise<void>;
  close(): void;
}

interface Entry {
  readonly handlers: UdpHandlers;
  readonly bound: PromiseWithResolvers<void>;
  readonly done: PromiseWithResolvers<void>;
  closing: boolean;
}

let worker: Worker | undefined;
const entries = new Map<number, Entry>();
let nextId = 1;

function send(message: ToReceiver, transfer: Transferable[] = []): void {
  worker?.postMessage(message, transfer);
}

function startWorker(): Worker {
  const started = new Worker(new URL("./udp_receiver_worker.ts", import.meta.url), {
    type: "module",
  });
  started.onmessage = (event: MessageEvent<ToRecorder>) => onMessage(event.data);
  started.onerror = (event) => {
    event.preventDefault();
    stopWorker(new Error(`UDP receiver failed: ${event.message}`));
  };
  return started;
}

function stopWorker(error?: Error): void {
  worker?.terminate();
  worker = undefined;
  for (const entry of entries.values()) {
    entry.bound.reject(error);
    entry.done.reject(error);
  }
  entries.clear();
}

function finish(id: number, error?: Error): void {
  const entry = entries.get(id);
  if (!entry) return;
  entries.delete(id);
  if (error) entry.done.reject(error);
  else entry.done.resolve();
  if (entries.size === 0) stopWorker();
}

function onMessage(message: ToRecorder): void {
  switch (message.type) {
    case "bound": {
      const entry = entries.get(message.id);
      if (message.error === undefined) entry?.bound.resolve();
      else {
        entry?.bound.reject(new Error(message.error));
        entries.delete(message.id);
        if (entries.size === 0) stopWorker();
      }
      return;
    }
    case "batch":
      return deliver(message);
    case "failed":
      send({ type: "unbind", id: message.id });
      return finish(message.id, new Error(`UDP receive failed: ${message.message}`));
    case "unbound":
      return finish(message.id);
  }
}

function deliver({ bytes, meta, count, dropped }: ToRecorder & { type: "batch" }): void {
  for (const [id, n] of dropped) entries.get(id)?.handlers.onDropped?.(n);
  const data = new Uint8Array(bytes);
  const fields = new Float64Array(meta);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const at = i * 4;
    const id = fields[at];
    const length = fields[at + 2];
    const entry = entries.get(id);
    if (entry) {
      try {
        entry.handlers.onDatagram(
          fields[at + 1],
          data.subarray(offset, offset + length),
          fields[at + 3],
        );
      } catch (error) {
        send({ type: "unbind", id });
        finish(id, error as Error);
      }
    }
    offset += length;
  }
  send({ type: "taken", bytes, meta, length: offset }, [bytes, meta]);
}

/**
 * Binds `addresses` on the receiving thread; rejects, naming the address, when one cannot be
 * bound (then none is).
 */
export async function bindUdp(
  addresses: readonly UdpAddress[],
  handlers: UdpHandlers,
): Promise<UdpBinding> {
  worker ??= startWorker();
  const id = nextId++;
  const entry: Entry = {
    handlers,
    bound: Promise.withResolvers(),
    done: Promise.withResolvers(),
    closing: false,
  };
  // Rejected also when the worker fails before the caller has it; the caller's own handlers
  // still see that rejection.
  entry.done.promise.catch(() => {});
  entries.set(id, entry);
  send({ type: "bind", id, addresses });
  await entry.bound.promise;
  return {
    done: entry.done.promise,
    close() {
      if (entry.closing || !entries.has(id)) return;
      entry.closing = true;
      send({ type: "unbind", id });
    },
  };
}
