import { parseSdp } from "../../lib/ingest/sdp.ts";
import { parseH265Sprop } from "../../lib/rtp/h265.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { ProtocolError } from "../../lib/errors.ts";

// What ffmpeg 5.1 writes with -sdp_file for libx265 + Opus.
const H265_SDP = `v=0
o=- 0 0 IN IP4 127.0.0.1
s=No Name
c=IN IP4 127.0.0.1
t=0 0
a=tool:libavformat 59.27.100
m=video 40000 RTP/AVP 96
a=rtpmap:96 H265/90000
a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8koCQ; sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZKkkyvAWgIAAAAwAgAAADA8E=; sprop-pps=RAHBcrRiQA==
m=audio 40002 RTP/AVP 97
a=rtpmap:97 opus/48000/2
`;

Deno.test("parseSdp reads H265 with its sprop-vps/sps/pps, and Opus", () => {
  const [video, audio] = parseSdp(H265_SDP);
  assertEquals([video.kind, video.codec, video.payloadType, video.clockRate], [
    "video",
    "h265",
    96,
    90000,
  ]);
  const sets = parseH265Sprop(video.fmtp);
  assertEquals([sets.vps?.[0], sets.sps?.[0], sets.pps?.[0]], [0x40, 0x42, 0x44]);
  assertEquals(audio.codec, "opus");
});

Deno.test("parseSdp reads VP8, VP9, AV1 and AV1X, taking the first payload type it records", () => {
  for (
    const [rtpmap, codec] of [
      ["VP8/90000", "vp8"],
      ["VP9/90000", "vp9"],
      ["AV1/90000", "av1"],
      ["AV1X/90000", "av1"],
    ] as const
  ) {
    const sdp =
      `v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 100 45\na=rtpmap:100 MP4V-ES/90000\na=rtpmap:45 ${rtpmap}\n`;
    const [video] = parseSdp(sdp);
    assertEquals([video.codec, video.payloadType], [codec, 45], rtpmap);
  }
  assertThrows(
    () => parseSdp("v=0\nm=video 5000 RTP/AVP 45\na=rtpmap:45 VP9/48000\n"),
    ProtocolError,
    "Bad SDP rtpmap",
  );
});
