import { EXIT } from '../cli-errors.js';
import type { CommandSpec } from '../main.js';

export const copyCommand: CommandSpec = {
  name: 'copy',
  summary: 'not yet',
  usage: 'ekb-archive copy',
  options: {},
  positionals: { min: 0, max: 5 },
  needsEkuaibao: false,
  async run() {
    return EXIT.usage;
  },
};
