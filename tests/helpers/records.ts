/**
 * Finds recordings on disk by the layout `<root>/<stream>/YYYY/MM/DD[/<unix seconds>]`.
 * @module
 */

/** Directories holding a manifest.mpd under `<root>/<stream>`, sorted. */
export async function findRecordings(root: string, stream: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`);
      else if (entry.name === "manifest.mpd") found.push(dir);
    }
  };
  await walk(`${root}/${stream}`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  return found.sort();
}
