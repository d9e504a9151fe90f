import { EXIT } from '../cli-errors.js';
import type { CommandSpec } from '../main.js';

export const jobCommand: CommandSpec = {
  name: 'job',
  summary: 'not yet',
  usage: 'ekb-archive job',
  options: {},
  positionals: { min: 0, max: 5 },
  needsEkuaibao: false,
  async run() {
    return EXIT.usage;
  },
};
