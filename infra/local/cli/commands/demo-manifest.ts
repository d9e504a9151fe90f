/**
 * `ekb-archive demo-manifest`: the sandbox's demo files as a JSON-lines manifest, to try `copy --sandbox` with:
 *   npx ekb-archive demo-manifest > demo.jsonl && npx ekb-archive copy --manifest demo.jsonl --sandbox
 */
import { demoFiles } from '../../sandbox/demo-data.js';
import { EXIT } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';

/** One manifest line per demo file: {"id","key","fileName"}. */
export function demoManifestLines(): string[] {
  return demoFiles().map((f) => JSON.stringify({ id: f.id, key: f.key, fileName: f.fileName }));
}

export const demoManifestCommand: CommandSpec = {
  name: 'demo-manifest',
  summary: "print a JSON-lines manifest of the built-in sandbox's demo files (for copy --sandbox)",
  usage: 'ekb-archive demo-manifest',
  options: {},
  positionals: { min: 0, max: 0 },
  needsEkuaibao: false,
  async run(ctx) {
    for (const line of demoManifestLines()) ctx.io.stdout.write(`${line}\n`);
    return EXIT.ok;
  },
};
