/**
 * The playback page's files: `page/index.html`, `page/page.js`, `page/page.css`, and dash.js's
 * player (`dash.all.min.js` of npm `dashjs`, pinned in deno.json, read from `node_modules`).
 * All are imported as text (`with { type: "text" }`), so they are part of the module graph:
 * `deno compile` embeds them with no `--include`, and nothing is read from disk at run time.
 * @module
 */

import dashJs from "dashjs/dist/dash.all.min.js" with { type: "text" };
import indexHtml from "./page/index.html" with { type: "text" };
import pageCss from "./page/page.css" with { type: "text" };
import pageJs from "./page/page.js" with { type: "text" };

/** One file of the page. */
export interface PageAsset {
  readonly body: string;
  readonly contentType: string;
  /** True for a versioned third-party file that may be cached for a day. */
  readonly immutable: boolean;
}

const ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ["index.html", { body: indexHtml, contentType: "text/html; charset=utf-8", immutable: false }],
  ["page.css", { body: pageCss, contentType: "text/css; charset=utf-8", immutable: false }],
  [
    "page.js",
    { body: pageJs, contentType: "text/javascript; charset=utf-8", immutable: false },
  ],
  [
    "dash.all.min.js",
    { body: dashJs, contentType: "text/javascript; charset=utf-8", immutable: true },
  ],
]);

/** The page file `name` ("index.html", "page.js", …), or undefined when there is none. */
export function pageAsset(name: string): PageAsset | undefined {
  return ASSETS.get(name);
}
