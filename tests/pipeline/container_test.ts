import { recordStream } from "../../lib/pipeline.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import type { Codec, IngestSession, RtpPacket } from "../../lib/types.ts";
import { assert, assertEquals } from "../assert.ts";
import { encodeH265, encodeIvf, hevcType } from "../helpers/bitstreams.ts";
import { probeFrames } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";

const T0_US = 1_800_000_000_000_000;

/** A one-track video session replaying `payloads` (one array per frame) at 30 fps. */
function session(codec: Codec, frames: Uint8Array[][]): IngestSession {
  const packets: RtpPacket[] = [];
  let seq = 0;
  frames.forEach((payloads, i) => {
    payloads.forEach((payload, j) =>
      packets.push({
        payloadType: 96,
        sequenceNumber: seq++,
        timestamp: 5000 + i * 3000,
        ssrc: 42,
        marker: j === payloads.length - 1,
        payload,
        arrivalUs: T0_US + Math.round(i * 1e6 / 30),
      })
    );
  });
  return {
    stream: "cam1",
    tracks: [{
      kind: "video",
      codec,
      clockRate: 90000,
      payloadType: 96,
      packets: ReadableStream.from(packets),
      senderReport: undefined,
      requestKeyframe() {},
    }],
    close() {},
  };
}

/** VP8 frames in RFC 7741 payloads of at most 1000 bytes (one-byte descriptors). */
async function vp8Frames(): Promise<Uint8Array[][]> {
  const frames = await encodeIvf("vp8", { frames: 60, gop: 30 });
  return frames.map(({ data }) => {
    const out: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += 1000) {
      out.push(new Uint8Array([at === 0 ? 0x10 : 0, ...data.subarray(at, at + 1000)]));
    }
    return out;
  });
}

/** H265 access units as single NAL unit packets and FUs. */
async function h265Frames(): Promise<Uint8Array[][]> {
  const frames: Uint8Array[][] = [[]];
  for (const nal of await encodeH265({ frames: 60, gop: 30 })) {
    if (nal.length <= 1000) frames.at(-1)!.push(nal);
    else {
      const body = nal.subarray(2);
      for (let at = 0; at < body.length; at += 1000) {
        const s = at === 0 ? 0x80 : 0;
        const e = at + 1000 >= body.length ? 0x40 : 0;
        frames.at(-1)!.push(
          new Uint8Array([
            (nal[0] & 0x81) | (49 << 1),
            nal[1],
            s | e | hevcType(nal),
            ...body.subarray(at, at + 1000),
          ]),
        );
      }
    }
    if (hevcType(nal) < 32) frames.push([]);
  }
  frames.pop();
  return frames;
}

async function record(codec: Codec, frames: Uint8Array[][], container: "fmp4" | "webm") {
  const dir = await Deno.makeTempDir({ prefix: "container-" });
  const storage = new FsStorage({ root: dir });
  const fallbacks: Codec[] = [];
  const { done } = recordStream(session(codec, frames), {
    storage,
    segmentDurationSec: 1,
    events: new WritableStream(),
    container,
    onContainerFallback: (misfit) => fallbacks.push(misfit),
  });
  await done;
  const [recording] = await findRecordings(dir, "cam1");
  const names = [...Deno.readDirSync(recording)].map((e) => e.name).sort();
  return { dir, recording, names, fallbacks };
}

Deno.test("recordStream writes WebM when recorder.container is webm and the codecs fit", async () => {
  const { dir, recording, names, fallbacks } = await record("vp8", await vp8Frames(), "webm");
  assertEquals(names, ["init.webm", "manifest.mpd", "seg_0001.webm", "seg_0002.webm"]);
  assertEquals(fallbacks, []);
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  assert(mpd.includes(`mimeType="video/webm"`) && mpd.includes(`codecs="vp8"`), mpd);
  const [video] = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals([video.codecName, video.frames], ["vp8", 60]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("recordStream records H265 as fMP4 under container webm, and says so", async () => {
  const { dir, recording, names, fallbacks } = await record("h265", await h265Frames(), "webm");
  assertEquals(fallbacks, ["h265"]);
  assertEquals(names, ["init.m4s", "manifest.mpd", "seg_0001.m4s", "seg_0002.m4s"]);
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  assert(mpd.includes(`mimeType="video/mp4"`) && /codecs="hvc1\./.test(mpd), mpd);
  const [video] = await probeFrames(`${recording}/manifest.mpd`);
  assertEquals([video.codecName, video.frames], ["hevc", 60]);
  await Deno.remove(dir, { recursive: true });
});
