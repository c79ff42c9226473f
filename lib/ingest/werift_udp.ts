/**
 * werift's ICE sockets on `Deno.listenDatagram` instead of `node:dgram`. Deno's `node:dgram`
 * allocates 64 KiB for every datagram it receives: at a few thousand SRTP packets a second per
 * WHIP session that is gigabytes a second of garbage. This transport receives into one reused
 * buffer and hands werift a Buffer of the datagram's own size; sends keep their order (Deno's
 * sends that are not awaited can overtake each other).
 * @module
 */

import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { UdpTransport } from "werift";

type Address = [string, number];

/** The options werift's ICE passes to `UdpTransport.init`. */
interface TransportOptions {
  port?: number;
  portRange?: [number, number];
  interfaceAddresses?: { udp4?: string; udp6?: string };
}

/** What werift's ICE uses of a UDP transport. */
class DenoUdpTransport {
  readonly type = "udp";
  onData: (data: Buffer, addr: Address) => void = () => {};
  closed = false;
  readonly #conn: Deno.DatagramConn;
  readonly #family: 4 | 6;
  #rinfo: Address | undefined;
  #sending: Promise<void> = Promise.resolve();

  constructor(conn: Deno.DatagramConn, family: 4 | 6) {
    this.#conn = conn;
    this.#family = family;
    this.#receive();
  }

  async #receive(): Promise<void> {
    const buffer = new Uint8Array(65536);
    while (!this.closed) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await this.#conn.receive(buffer);
      } catch {
        return; // closed
      }
      const { hostname, port } = from as Deno.NetAddr;
      this.#rinfo = [hostname.split("%")[0], port];
      try {
        this.onData(Buffer.from(data), this.#rinfo);
      } catch {
        // werift's own transport ignores what its handler throws, too.
      }
    }
  }

  /**
   * Sends to `addr`, or to whoever sent last (what werift's transport does without `addr`).
   * Only to IP addresses: a host name would cost a DNS lookup on the media path.
   */
  send = (data: Uint8Array, addr?: Address): Promise<void> => {
    const to = addr ?? this.#rinfo;
    if (!to || this.closed || !isIP(to[0])) return Promise.resolve();
    const target = { transport: "udp" as const, hostname: to[0], port: to[1] };
    this.#sending = this.#sending.then(() => this.#conn.send(data, target)).then(
      () => {},
      () => {},
    );
    return this.#sending;
  };

  close = (): Promise<void> => {
    if (!this.closed) {
      this.closed = true;
      this.#conn.close();
    }
    return Promise.resolve();
  };

  get address(): { address: string; port: number; family: string } {
    const { hostname, port } = this.#conn.addr as Deno.NetAddr;
    return { address: hostname, port, family: this.#family === 6 ? "IPv6" : "IPv4" };
  }

  get addressFamily(): 4 | 6 {
    return this.#family;
  }

  get host(): string {
    return this.address.address;
  }

  get port(): number {
    return this.address.port;
  }
}

let installed = false;

/**
 * Makes every UDP transport werift's ICE creates from now on a {@linkcode DenoUdpTransport}.
 * A port range is tried port by port, as werift does.
 */
export function useDenoUdp(): void {
  if (installed) return;
  installed = true;
  (UdpTransport as unknown as { init: unknown }).init = (
    type: "udp4" | "udp6",
    options: TransportOptions = {},
  ): Promise<DenoUdpTransport> => {
    const family = type === "udp6" ? 6 : 4;
    const configured = options.interfaceAddresses?.[type];
    const hostname = configured && isIP(configured) ? configured : family === 6 ? "::" : "0.0.0.0";
    const [first, last] = options.port !== undefined
      ? [options.port, options.port]
      : options.portRange ?? [0, 0];
    for (let port = first;; port++) {
      try {
        const conn = Deno.listenDatagram({ transport: "udp", hostname, port });
        return Promise.resolve(new DenoUdpTransport(conn, family));
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse) || port >= last) {
          return Promise.reject(error);
        }
      }
    }
  };
}
