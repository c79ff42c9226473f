/**
 * A fix for werift 0.25.2's DTLS client (the recorder is the DTLS client of WHIP publishers and
 * WHEP servers). A server that does not hear our flight 5 quickly repeats its flight 4 (Chromium
 * after ~50 ms on loopback); werift then starts a second flight 5 with new keys, and the session
 * ends up "connected" on both sides while every SRTP packet fails authentication: an empty
 * recording. Here a handshake message the client has already handled (same message_seq) is not
 * handled again; a repeated ServerHelloDone makes flight 5 go out again instead, as RFC 6347
 * §4.2.4 asks.
 * @module
 */

import { RTCDtlsTransport } from "werift";

/** What this fix touches of werift's DtlsClient (private in its typings). */
interface HandshakeMessage {
  readonly msg_type: number;
  readonly message_seq: number;
}
interface DtlsClientLike {
  onHandleHandshakes: (assembled: HandshakeMessage[]) => Promise<void>;
  flight5?: { exec(): Promise<void> };
  dtls: { flight: number };
}

const SERVER_HELLO_DONE = 14;
let installed = false;

/** Installs the fix once for every DTLS client werift creates from now on. */
export function fixDtlsRetransmissions(): void {
  if (installed) return;
  installed = true;
  const start = RTCDtlsTransport.prototype.start;
  RTCDtlsTransport.prototype.start = function (this: RTCDtlsTransport) {
    // `start` assigns the socket to `this.dtls` before the handshake begins: catch it there.
    let socket: RTCDtlsTransport["dtls"];
    Object.defineProperty(this, "dtls", {
      configurable: true,
      enumerable: true,
      get: () => socket,
      set: (value: RTCDtlsTransport["dtls"]) => {
        socket = value;
        if (value && "flight5" in value) handleOnce(value as unknown as DtlsClientLike);
      },
    });
    return start.call(this);
  };
}

function handleOnce(client: DtlsClientLike): void {
  const handled = new Set<number>();
  const handle = client.onHandleHandshakes;
  client.onHandleHandshakes = async (assembled) => {
    const fresh = assembled.filter((message) => !handled.has(message.message_seq));
    for (const message of fresh) handled.add(message.message_seq);
    if (
      fresh.length < assembled.length && client.dtls.flight === 5 &&
      assembled.some((message) => message.msg_type === SERVER_HELLO_DONE)
    ) {
      await client.flight5?.exec(); // in flight 5 already: sends the same flight again
    }
    if (fresh.length > 0) await handle(fresh);
  };
}
