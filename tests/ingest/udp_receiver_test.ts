/**
 * The UDP receiving thread: datagrams reach the handler whole, in order per socket, with their
 * socket's index and an arrival time; close() delivers what came before it; a port in use is
 * refused with its address named and nothing left bound.
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { bindUdp } from "../../lib/ingest/udp_receiver.ts";

function freePort(): number {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const { port } = conn.addr as Deno.NetAddr;
  conn.close();
  return port;
}

Deno.test("Datagrams of two sockets arrive whole and in order, each with its socket", async () => {
  const ports = [freePort(), freePort()];
  const got: [number, string, number][] = [];
  const binding = await bindUdp(ports.map((port) => ({ hostname: "127.0.0.1", port })), {
    onDatagram: (index, data, arrivalUs) =>
      got.push([index, new TextDecoder().decode(data), arrivalUs]),
  });
  const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const beforeUs = Date.now() * 1000;
  const sent: [number, string][] = [];
  for (let i = 0; i < 300; i++) {
    const index = i % 3 === 0 ? 1 : 0;
    // Every tenth up to 60 000 bytes: batches that cannot hold the next datagram.
    const size = i % 10 === 0 ? (i * 7919) % 60_000 : i % 1200;
    const text = `${index}:${i}:` + "x".repeat(size);
    sent.push([index, text]);
    await sender.send(new TextEncoder().encode(text), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: ports[index],
    });
    // Paced, so the socket buffers (about 200 KB) never overflow.
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  binding.close();
  await binding.done;
  sender.close();
  // Compared by their heads and lengths, so a failure prints something readable.
  const summary = (texts: string[]) => texts.map((t) => `${t.slice(0, 8)}…${t.length}`);
  for (const index of [0, 1]) {
    const received = got.filter(([i]) => i === index).map(([, text]) => text);
    const expected = sent.filter(([i]) => i === index).map(([, text]) => text);
    assertEquals(summary(received), summary(expected));
    assert(received.join("") === expected.join(""), `socket ${index}: bytes differ`);
  }
  const afterUs = Date.now() * 1000;
  assert(got.every(([, , at]) => at >= beforeUs - 1000 && at <= afterUs), "arrival times");
});

Deno.test("A port in use is refused with its address, and the others are released", async () => {
  const taken = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const takenPort = (taken.addr as Deno.NetAddr).port;
  const free = freePort();
  const error = await assertRejects(
    () =>
      bindUdp([{ hostname: "127.0.0.1", port: free }, { hostname: "127.0.0.1", port: takenPort }], {
        onDatagram: () => {},
      }),
    Error,
  );
  assert(error.message.includes(`127.0.0.1:${takenPort}`), error.message);
  taken.close();
  // The free port of the refused binding was released: binding it again works.
  const again = await bindUdp([{ hostname: "127.0.0.1", port: free }], { onDatagram: () => {} });
  again.close();
  await again.done;
});

Deno.test("A handler that throws ends its binding with that error", async () => {
  const port = freePort();
  const binding = await bindUdp([{ hostname: "127.0.0.1", port }], {
    onDatagram: () => {
      throw new Error("handler broke");
    },
  });
  const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  await sender.send(new Uint8Array([1]), { transport: "udp", hostname: "127.0.0.1", port });
  sender.close();
  await assertRejects(() => binding.done, Error, "handler broke");
});
