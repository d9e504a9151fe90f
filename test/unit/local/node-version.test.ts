import { describe, expect, it } from 'vitest';
import { MIN_NODE_VERSION, nodeVersionProblem } from '../../../infra/local/node-version.mjs';

describe('nodeVersionProblem (the check the CLI and npm start run first)', () => {
  it('refuses a Node older than the minimum with one line naming both versions and what to install', () => {
    const problem = nodeVersionProblem('20.20.2', 'ekb-archive');
    expect(problem).toBe(
      `ekb-archive: needs Node.js ${MIN_NODE_VERSION} or later (Node 24 recommended), but this is Node.js 20.20.2; install Node 24 (https://nodejs.org, or \`nvm install 24\`) and run it again`,
    );
    expect(problem).not.toContain('\n');
  });

  it.each(['v18.20.4', '20.20.2', '21.9.9', '22.12.0', '22.0.99'])('refuses %s', (version) => {
    expect(nodeVersionProblem(version)).toMatch(/^ekb-archive: needs Node\.js 22\.13\.0 or later/);
  });

  it.each(['22.13.0', 'v22.13.1', '22.20.0', '23.0.0', '24.21.0', '25.1.0'])('accepts %s', (version) => {
    expect(nodeVersionProblem(version)).toBeUndefined();
  });

  it('names the program the user ran', () => {
    expect(nodeVersionProblem('20.0.0', 'npm start')).toMatch(/^npm start: /);
  });
});
