/**
 * The playback page in a real browser: Chromium (Debian's, driven by playwright-core) opens the
 * page of a recorder process, plays a finished recording of an ffmpeg RTP stream, then a
 * recording in progress, and the picture on screen is checked to be the test pattern.
 */

import { chromium, type Page } from "playwright-core";
import { assert, assertEquals } from "../assert.ts";
import { grayStats, sendRtp } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { makeCountedSource, recordWithProgram } from "../helpers/rtp_recording.ts";

const CHROMIUM = "/usr/bin/chromium";
const STEP_MS = 30_000;

/** The video's playback position, seconds. */
const CURRENT_TIME = `document.getElementById("video").currentTime`;
/** What the page's player says, for failures. */
const PLAYER_STATE = `JSON.stringify((() => {
  const v = document.getElementById("video");
  const b = v.buffered;
  return {
    currentTime: v.currentTime, paused: v.paused, readyState: v.readyState,
    error: v.error && v.error.message, buffered: b.length ? [b.start(0), b.end(b.length - 1)] : [],
    nowPlaying: document.getElementById("now-playing").textContent,
    playerError: document.getElementById("player-error").textContent,
  };
})())`;

/** The page's console, for failures. */
const consoleLines: string[] = [];

/** Waits until `expression` is true in the page; a failure says what the player was doing. */
async function waitInPage(page: Page, what: string, expression: string): Promise<void> {
  try {
    await page.waitForFunction(expression, undefined, { timeout: STEP_MS });
  } catch (error) {
    const state = await page.evaluate<string>(PLAYER_STATE).catch(() => "unknown");
    throw new Error(
      `${what}: ${(error as Error).message}; player ${state}; console:\n${
        consoleLines.slice(-40).join("\n")
      }`,
      { cause: error },
    );
  }
}

Deno.test({
  name: "The page lists a finished recording and plays it, then plays a recording in progress",
  // playwright-core keeps a pipe and timers to the browser beyond context.close().
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (tests/run.sh does)`);
    }
    const dir = await Deno.makeTempDir({ prefix: "page-test-" });
    // A finished recording: 4 s of H264 + Opus over RTP into the program, which then stops.
    const first = await makeCountedSource(dir, 4);
    await recordWithProgram(dir, first, `type = "fs"\nroot = "${dir}/records"`);
    const [key] = await findRecordings(`${dir}/records`, "cam1");
    assert(key, "a recording");

    // The same configuration again, to serve the page and record the next stream.
    const config = await Deno.readTextFile(`${dir}/live777.toml`);
    const base = `http://${/listen = "([^"]+)"/.exec(config)![1]}`;
    const recorder = new RecorderProcess(`${dir}/live777.toml`);
    const context = await chromium.launchPersistentContext(`${dir}/chromium-profile`, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: STEP_MS,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1100, height: 1400 },
    });
    let sending: Promise<void> | undefined;
    try {
      await recorder.waitFor("Listening");
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
        consoleLines.push(`${message.type()}: ${message.text()}`);
      });
      await page.goto(`${base}/?debug`);
      assertEquals(await page.title(), "live777-recorder");
      assert(
        await page.evaluate(`MediaSource.isTypeSupported('video/mp4; codecs="avc1.42c01e"')`),
        "this Chromium plays H264 with MSE",
      );

      // The finished recording, listed under its stream and day, played with the keyboard.
      const relative = key.slice(`${dir}/records/`.length);
      const play = page.locator(`button[data-key="${relative}"]`);
      await play.waitFor();
      assertEquals(await page.locator("#recordings h3").allTextContents(), ["cam1"]);
      const day = relative.split("/").slice(1, 4).join("-");
      assertEquals(await page.locator("#recordings h4").allTextContents(), [`${day} (UTC)`]);
      await play.focus();
      await page.keyboard.press("Enter");
      assertEquals(await play.getAttribute("aria-pressed"), "true");
      await waitInPage(page, "the finished recording plays", `${CURRENT_TIME} > 1`);
      const finished = await grayStats(await page.locator("#video").screenshot());
      assert(finished.variance > 200, `a picture, not a blank frame: ${JSON.stringify(finished)}`);
      assert((await page.locator("#now-playing").textContent())!.includes(`cam1, ${day}`));

      // A recording in progress: in the live table, played live from its dynamic manifest.
      await Deno.mkdir(`${dir}/live`);
      const second = await makeCountedSource(`${dir}/live`, 15);
      const sdp = await Deno.readTextFile(`${dir}/cam1.sdp`);
      const [videoPort, audioPort] = [...sdp.matchAll(/^m=\w+ (\d+)/gm)].map((m) => Number(m[1]));
      sending = sendRtp(second.path, videoPort, audioPort);
      const row = page.locator('tr[data-stream="cam1"]');
      await row.getByText("● Recording").waitFor();
      const watch = page.getByRole("button", { name: "Watch cam1 live" });
      await watch.click();
      await waitInPage(page, "the live recording plays", `${CURRENT_TIME} > 1`);
      // And goes on as new segments arrive: two more seconds of media.
      const t0 = await page.evaluate<number>(CURRENT_TIME);
      await waitInPage(page, "live playback goes on", `${CURRENT_TIME} > ${t0 + 2}`);
      const live = await grayStats(await page.locator("#video").screenshot());
      assert(live.variance > 200, `a live picture: ${JSON.stringify(live)}`);
      const cells = await row.locator("td").allTextContents();
      assert(/kbit\/s|Mbit\/s/.test(cells[2]), `bitrate shown: ${cells}`);
      assert(Number(cells[3]) >= 1, `segments shown: ${cells}`);
      // PAGE_SCREENSHOT=/path.png keeps a picture of the page, for a person to look at.
      const shot = Deno.env.get("PAGE_SCREENSHOT");
      if (shot) await page.screenshot({ path: shot, fullPage: true });
      assertEquals(errors, []);
    } finally {
      await context.close().catch(() => {});
      await sending?.catch(() => {});
      const status = await recorder.stop("SIGTERM");
      assertEquals(status.code, 0, recorder.stderr);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
