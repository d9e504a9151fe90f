// The Node.js version check that runs before anything else of ekb-archive loads (the CLI launcher, `npm start`).
// Plain JavaScript without newer syntax (no `??`, `?.` or top-level await) on purpose: it must parse and run on
// any Node that can load an ES module, so that an old Node prints one clear line instead of whatever the first
// newer API (Map.groupBy, node:sqlite) throws.

/** node:sqlite (the local queue, the data folder's lock) works unflagged from 22.13; Node 24 is the target. */
export const MIN_NODE_VERSION = '22.13.0';

function parse(version) {
  const parts = String(version).replace(/^v/, '').split('.');
  return [Number(parts[0]) || 0, Number(parts[1]) || 0, Number(parts[2]) || 0];
}

/** The line to print when `version` (e.g. process.versions.node) is too old, else undefined. */
export function nodeVersionProblem(version, program) {
  const have = parse(version);
  const need = parse(MIN_NODE_VERSION);
  for (let i = 0; i < 3; i += 1) {
    if (have[i] > need[i]) return undefined;
    if (have[i] < need[i]) {
      const shown = String(version).replace(/^v/, '');
      return `${program || 'ekb-archive'}: needs Node.js ${MIN_NODE_VERSION} or later (Node 24 recommended), but this is Node.js ${shown}; install Node 24 (https://nodejs.org, or \`nvm install 24\`) and run it again`;
    }
  }
  return undefined;
}

/** Prints the one line and exits 2 (the CLI's configuration error) when this Node is too old. */
export function exitIfUnsupportedNode(program) {
  const problem = nodeVersionProblem(process.versions.node, program);
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
