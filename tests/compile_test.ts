/**
 * `deno compile` (the single binary) can only embed what it can see: every module reached
 * from main.ts must be a static import. (The compile itself needs Deno's runtime download;
 * tests/run.sh runs it when that runtime is cached.)
 */

import { assert, assertEquals } from "./assert.ts";

interface ModuleInfo {
  specifier: string;
  dependencies?: { specifier: string; isDynamic?: boolean }[];
}

Deno.test("The compile entry point imports nothing dynamically", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(stdout)) as { modules: ModuleInfo[] };
  const local = modules.filter((m) => m.specifier.startsWith("file:"));
  assert(local.length > 30, `the whole program is in the graph (${local.length} modules)`);
  const dynamic = local.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.isDynamic).map((d) => `${m.specifier} → ${d.specifier}`)
  );
  assertEquals(dynamic, []);
});

Deno.test("Every worker module of the program is embedded by the compile task", async () => {
  const root = new URL("../", import.meta.url);
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
    tasks: Record<string, string>;
  };
  const included = [...tasks.compile.matchAll(/--include\s+(\S+)/g)].map((m) => m[1]);
  const workers: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      if (entry.isDirectory) await walk(`${dir}${entry.name}/`);
      if (!entry.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(`${dir}${entry.name}`, root));
      for (const m of text.matchAll(/new Worker\(new URL\("\.\/([^"]+)"/g)) {
        workers.push(`${dir}${m[1]}`);
      }
    }
  };
  await walk("lib/");
  assert(workers.length > 0, "the UDP receiver runs on a worker");
  assertEquals(workers.filter((w) => !included.includes(w)), []);
});
