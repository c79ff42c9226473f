/**
 * `live777.toml` files for tests that run the program: loopback HTTP on a free port, fs storage
 * and state in the test's directory, short segments and idle timeouts, plain RTP sources.
 * @module
 */

import { freeTcpPort } from "./media.ts";

/** What {@linkcode writeTestConfig} writes besides its defaults. */
export interface TestConfigOptions {
  /** Plain RTP sources: stream name → SDP file. */
  readonly rtp?: Record<string, string>;
  /**
   * `[recorder]` keys, added to or replacing the defaults (`auto_streams = ["*"]`,
   * `segment_duration = 1`, `idle_timeout = 1`, `state_dir`, `ice_host_addresses`), as TOML text.
   */
  readonly recorder?: Record<string, string | number>;
  /** The body of `[recorder.storage]`. @default fs under `<dir>/records` */
  readonly storage?: string;
  /** More TOML at the end, e.g. a `[recorder.liveman]` table. */
  readonly extra?: string;
  /** `[http] listen` port. @default a free one */
  readonly port?: number;
}

/** Writes `<dir>/live777.toml` and returns its path. */
export async function writeTestConfig(
  dir: string,
  options: TestConfigOptions = {},
): Promise<string> {
  const recorder: Record<string, string | number> = {
    auto_streams: `["*"]`,
    segment_duration: 1,
    idle_timeout: 1,
    state_dir: JSON.stringify(`${dir}/state`),
    ice_host_addresses: `["127.0.0.1"]`,
    ...options.recorder,
  };
  const lines = [
    "[http]",
    `listen = "127.0.0.1:${options.port ?? freeTcpPort()}"`,
    "[recorder]",
    ...Object.entries(recorder).map(([key, value]) => `${key} = ${value}`),
    "[recorder.storage]",
    options.storage ?? `type = "fs"\nroot = ${JSON.stringify(`${dir}/records`)}`,
  ];
  for (const [stream, sdp] of Object.entries(options.rtp ?? {})) {
    lines.push(`[[stream.${stream}.sources]]`, `url = ${JSON.stringify(sdp)}`);
  }
  if (options.extra) lines.push(options.extra);
  const path = `${dir}/live777.toml`;
  await Deno.writeTextFile(path, `${lines.join("\n")}\n`);
  return path;
}
