import { assert, assertEquals } from "../assert.ts";
import { pageAsset } from "../../lib/http/assets.ts";

Deno.test("The page's files and dash.js are in main.ts's module graph, so deno compile embeds them", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string }[];
  };
  const names = modules.map((m) => m.specifier.split("/").at(-1));
  for (const name of ["index.html", "page.js", "page.css", "dash.all.min.js"]) {
    assert(names.includes(name), `${name} in the graph`);
  }
  assert(modules.some((m) => m.specifier === "npm:/dashjs@4.7.4/dist/dash.all.min.js"));
});

Deno.test("pageAsset serves the page, its script and style, and dash.js; nothing else", () => {
  assert(pageAsset("index.html")!.body.includes('<script src="/assets/page.js" defer>'));
  assertEquals(pageAsset("page.css")!.contentType, "text/css; charset=utf-8");
  assertEquals(pageAsset("page.js")!.contentType, "text/javascript; charset=utf-8");
  const dash = pageAsset("dash.all.min.js")!;
  assert(dash.body.length > 500_000 && dash.body.includes("4.7.4") && dash.immutable);
  assertEquals(pageAsset("../deno.json"), undefined);
  assertEquals(pageAsset("dash.all.debug.js"), undefined);
});
