import { assertEquals, assertThrows } from "../assert.ts";
import { ProtocolError } from "../../lib/errors.ts";
import { parseSdp } from "../../lib/ingest/sdp.ts";

const FFMPEG_SDP = `v=0
o=- 0 0 IN IP4 127.0.0.1
s=No Name
t=0 0
a=tool:libavformat 59.27.100
m=video 40000 RTP/AVP 96
c=IN IP4 127.0.0.1
a=rtpmap:96 H264/90000
a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkBQe/4QAAAAwBAAAAPI8WLkg==,aMuMsg==; profile-level-id=42C01E
m=audio 40002 RTP/AVP 97
c=IN IP4 127.0.0.1
b=AS:64
a=rtpmap:97 opus/48000/2
a=fmtp:97 sprop-stereo=1
`;

Deno.test("parseSdp reads ffmpeg's SDP: ports, payload types, codecs, fmtp", () => {
  const [video, audio] = parseSdp(FFMPEG_SDP);
  assertEquals([video.kind, video.codec, video.port, video.rtcpPort, video.payloadType], [
    "video",
    "h264",
    40000,
    40001,
    96,
  ]);
  assertEquals(video.fmtp.get("sprop-parameter-sets"), "Z0LAHtkBQe/4QAAAAwBAAAAPI8WLkg==,aMuMsg==");
  assertEquals([audio.codec, audio.clockRate, audio.channels, audio.port], [
    "opus",
    48000,
    2,
    40002,
  ]);
});

Deno.test("parseSdp honours rtcp-mux and a=rtcp", () => {
  const [video, audio] = parseSdp(
    FFMPEG_SDP.replace("a=rtpmap:96", "a=rtcp-mux\na=rtpmap:96").replace("b=AS:64", "a=rtcp:5000"),
  );
  assertEquals(video.rtcpPort, 40000);
  assertEquals(audio.rtcpPort, 5000);
});

Deno.test("parseSdp rejects descriptions it cannot record with a clear error", () => {
  assertThrows(() => parseSdp("hello"), ProtocolError, `SDP must start with "v="`);
  assertThrows(
    () => parseSdp("v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 MP4V-ES/90000\n"),
    ProtocolError,
    "no H264, H265, VP8, VP9 or AV1 video nor Opus audio",
  );
  assertThrows(() => parseSdp("v=0\nm=video 99999 RTP/AVP 96\n"), ProtocolError, "Bad SDP port");
});

Deno.test("parseSdp rejects clock rates, channel counts, RTCP ports and payload types no recorder could use", () => {
  const cases: [string, string, string][] = [
    ["a=rtpmap:96 H264/90000", "a=rtpmap:96 H264", "Bad SDP rtpmap"],
    ["a=rtpmap:96 H264/90000", "a=rtpmap:96 H264/abc", "Bad SDP rtpmap"],
    ["a=rtpmap:96 H264/90000", "a=rtpmap:96 H264/0", "Bad SDP rtpmap"],
    ["a=rtpmap:97 opus/48000/2", "a=rtpmap:97 opus/48000/0", "Bad SDP rtpmap"],
    ["a=rtpmap:97 opus/48000/2", "a=rtpmap:97 opus/48000/x", "Bad SDP rtpmap"],
    ["b=AS:64", "a=rtcp:70000", "Bad SDP RTCP port"],
    ["b=AS:64", "a=rtcp:abc", "Bad SDP RTCP port"],
    ["b=AS:64", "a=rtcp:0", "Bad SDP RTCP port"],
    ["m=video 40000 RTP/AVP 96", "m=video 40000 RTP/AVP 96 300", "Bad SDP payload type"],
    ["m=video 40000 RTP/AVP 96", "m=video 65535 RTP/AVP 96", "no port for RTCP"],
  ];
  for (const [from, to, message] of cases) {
    assertThrows(() => parseSdp(FFMPEG_SDP.replace(from, to)), ProtocolError, message);
  }
});
