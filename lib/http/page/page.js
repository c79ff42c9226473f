// The playback page: live streams with their recording state, stored recordings by stream and
// day, and a dash.js player. Plain browser JavaScript, no build step; served by lib/http/api.ts.
// deno-lint-ignore-file no-window
"use strict";

(() => {
  const POLL_MS = 2000;
  const DEBUG = new URLSearchParams(location.search).has("debug");
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const video = $("video");
  const nowPlaying = $("now-playing");
  const playerError = $("player-error");
  const tokenForm = $("token-form");
  const filter = $("stream-filter");
  /** Previous byte counts per stream, for the bitrate. */
  const previous = new Map();
  let player;
  let token = sessionStorage.getItem("live777-recorder-token") || "";
  let knownStreams = [];

  function authHeaders() {
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function api(path, init = {}) {
    const response = await fetch(path, {
      ...init,
      headers: { ...authHeaders(), ...(init.headers || {}) },
    });
    if (response.status === 401) {
      tokenForm.hidden = false;
      throw new Error("The API needs an access token");
    }
    return response;
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child !== undefined && child !== null) node.append(child);
    }
    return node;
  }

  function formatDuration(seconds) {
    if (!(seconds >= 0)) return "—";
    const s = Math.floor(seconds % 60);
    const m = Math.floor(seconds / 60) % 60;
    const h = Math.floor(seconds / 3600);
    if (h > 0) return `${h} h ${m} min ${s} s`;
    if (m > 0) return `${m} min ${s} s`;
    return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`;
  }

  function formatBitrate(bps) {
    if (!(bps >= 0)) return "—";
    if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
    return `${Math.round(bps / 1e3)} kbit/s`;
  }

  function recordsUrl(key) {
    return `/records/${key.split("/").map(encodeURIComponent).join("/")}`;
  }

  // --- Live streams ----------------------------------------------------------------------

  async function refreshLive() {
    let streams;
    try {
      streams = await (await api("/api/record")).json();
    } catch (error) {
      status.textContent = `Cannot load the live streams: ${error.message}`;
      return;
    }
    const now = performance.now();
    const rows = $("live-rows");
    const live = streams.filter((s) => s.live || s.recording);
    rows.replaceChildren(...live.map((s) => liveRow(s, now)));
    $("live-empty").hidden = live.length > 0;
    $("live-table").hidden = live.length === 0;
    const recording = live.filter((s) => s.recording).length;
    // Said again only when it changes (a live region).
    const summary = `${live.length} live, ${recording} recording`;
    if (status.textContent !== summary) status.textContent = summary;
    const names = streams.map((s) => s.stream);
    if (names.some((name) => !knownStreams.includes(name))) {
      knownStreams = [...new Set([...knownStreams, ...names])].sort();
      fillFilter();
    }
  }

  function liveRow(s, now) {
    const last = previous.get(s.stream);
    const bytes = s.totals.bytesIn;
    previous.set(s.stream, { bytes, at: now });
    const bitrate = last && now > last.at ? (bytes - last.bytes) * 8000 / (now - last.at) : NaN;
    const since = s.recording ? s.durationSec : (Date.now() - Date.parse(s.liveSince)) / 1000;
    const state = s.recording
      ? el("span", { class: "state-recording" }, "● Recording")
      : el("span", { class: "state-live" }, "Live, not recorded");
    const actions = el("td");
    if (s.recording) {
      actions.append(
        el("button", {
          type: "button",
          textContent: "Stop recording",
          onclick: () => control("DELETE", s.stream),
          "aria-label": `Stop recording ${s.stream}`,
        }),
      );
      // The manifest exists once the first segment is stored.
      if (s.recordingKey && s.segments > 0) {
        actions.append(
          el("button", {
            type: "button",
            textContent: "Watch live",
            onclick: () => play(recordsUrl(`${s.recordingKey}/manifest.mpd`), `${s.stream}, live`),
            "aria-label": `Watch ${s.stream} live`,
          }),
        );
      }
    } else {
      actions.append(
        el("button", {
          type: "button",
          textContent: "Record",
          onclick: () => control("POST", s.stream),
          "aria-label": `Record ${s.stream}`,
        }),
      );
    }
    const title = el("th", { scope: "row" }, s.stream);
    if (s.recordingKey) title.append(el("br"), el("code", {}, s.recordingKey));
    return el(
      "tr",
      { "data-stream": s.stream },
      title,
      el("td", {}, state),
      el("td", {}, formatDuration(since)),
      el("td", {}, formatBitrate(bitrate)),
      el("td", {}, s.recording ? String(s.segments) : "—"),
      el("td", {}, s.recording ? String(s.frames.dropped) : "—"),
      el(
        "td",
        { class: s.lastError ? "error" : "" },
        s.lastError ? `${s.lastError.message} (${s.lastError.at})` : "—",
      ),
      actions,
    );
  }

  async function control(method, stream) {
    status.textContent = method === "POST"
      ? `Starting the recording of ${stream}…`
      : `Stopping the recording of ${stream}…`;
    try {
      const response = await api(`/api/record/${encodeURIComponent(stream)}`, { method });
      if (!response.ok) throw new Error((await response.text()).trim());
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    await refreshLive();
    if (method === "DELETE") await refreshRecordings();
  }

  // --- Recordings ------------------------------------------------------------------------

  function fillFilter() {
    const chosen = filter.value;
    filter.replaceChildren(
      el("option", { value: "" }, "All streams"),
      ...knownStreams.map((name) => el("option", { value: name }, name)),
    );
    filter.value = knownStreams.includes(chosen) ? chosen : "";
  }

  async function refreshRecordings() {
    const stream = filter.value;
    const container = $("recordings");
    let recordings;
    try {
      const query = stream ? `?stream=${encodeURIComponent(stream)}` : "";
      recordings = await (await api(`/api/recordings${query}`)).json();
    } catch (error) {
      container.replaceChildren(el("p", { class: "error" }, error.message));
      return;
    }
    const streams = [...new Set(recordings.map((r) => r.stream))];
    if (streams.some((name) => !knownStreams.includes(name))) {
      knownStreams = [...new Set([...knownStreams, ...streams])].sort();
      fillFilter();
    }
    if (recordings.length === 0) {
      container.replaceChildren(el("p", { class: "empty" }, "No recordings stored yet."));
      return;
    }
    const sections = streams.map((name) => {
      const own = recordings.filter((r) => r.stream === name);
      const days = [...new Set(own.map((r) => r.day))];
      return el(
        "section",
        { "aria-label": `Recordings of ${name}` },
        el("h3", {}, name),
        ...days.map((day) =>
          el(
            "div",
            {},
            el("h4", {}, `${day} (UTC)`),
            el(
              "ul",
              { class: "recordings" },
              ...own.filter((r) => r.day === day).map(recordingItem),
            ),
          )
        ),
      );
    });
    container.replaceChildren(...sections);
  }

  function recordingItem(r) {
    const start = r.startSec
      ? new Date(r.startSec * 1000).toISOString().slice(11, 19) + " UTC"
      : "first of the day";
    const details = [start];
    if (r.durationSec !== undefined) details.push(formatDuration(r.durationSec));
    if (r.recording) details.push("recording now");
    else if (r.type === "dynamic") details.push("unfinished");
    const label = `${r.stream}, ${r.day}, ${details.join(", ")}`;
    return el(
      "li",
      {},
      el("button", {
        type: "button",
        textContent: "Play",
        "data-key": r.key,
        "aria-label": `Play ${label}`,
        onclick: (event) => {
          for (const b of document.querySelectorAll("button[aria-pressed]")) {
            b.setAttribute("aria-pressed", "false");
          }
          event.currentTarget.setAttribute("aria-pressed", "true");
          play(r.url, label);
        },
        "aria-pressed": "false",
      }),
      " ",
      el("code", {}, r.key),
      ` — ${details.join(", ")}`,
    );
  }

  // --- Player ----------------------------------------------------------------------------

  function play(url, label) {
    playerError.hidden = true;
    nowPlaying.textContent = `Playing ${label}`;
    if (!window.dashjs) {
      playerError.textContent = "dash.js did not load";
      playerError.hidden = false;
      return;
    }
    // A fresh player per source: dash.js 4 reusing one (attachSource) stops refreshing a live
    // manifest after a static one.
    if (player) player.reset();
    player = window.dashjs.MediaPlayer().create();
    // `?debug` in the page's address: dash.js logs what it does to the console.
    const { LOG_LEVEL_INFO, LOG_LEVEL_WARNING } = window.dashjs.Debug;
    player.updateSettings({ debug: { logLevel: DEBUG ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING } });
    // Recorded objects may need the token too.
    player.extend("RequestModifier", () => ({
      modifyRequestHeader(xhr) {
        if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
        return xhr;
      },
      modifyRequestURL: (requestUrl) => requestUrl,
    }), true);
    player.on(window.dashjs.MediaPlayer.events.ERROR, (event) => {
      const detail = event.error && (event.error.message || event.error.code);
      playerError.textContent = `Playback failed: ${detail || "unknown error"}`;
      playerError.hidden = false;
    });
    // Autoplay (muted) by dash.js itself: a play() here would come before dash.js listens for
    // the "play" event, and a live manifest would then never be refreshed.
    player.initialize(video, url, true);
  }

  // --- Start -----------------------------------------------------------------------------

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("live777-recorder-token", token);
    tokenForm.hidden = true;
    refreshLive();
    refreshRecordings();
  });
  filter.addEventListener("change", refreshRecordings);
  $("refresh").addEventListener("click", refreshRecordings);

  refreshLive();
  refreshRecordings();
  setInterval(refreshLive, POLL_MS);
})();
