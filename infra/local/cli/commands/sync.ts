import { EXIT } from '../cli-errors.js';
import type { CommandSpec } from '../main.js';

export const syncCommand: CommandSpec = {
  name: 'sync',
  summary: 'not yet',
  usage: 'ekb-archive sync',
  options: {},
  positionals: { min: 0, max: 5 },
  needsEkuaibao: false,
  async run() {
    return EXIT.usage;
  },
};
