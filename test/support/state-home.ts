/**
 * Every test process gets its own XDG_STATE_HOME, so an engine or CLI started without a log
 * dir writes to a throwaway per-user state dir, never to the real home directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const stateHome = mkdtempSync(join(tmpdir(), 'cee-state-home-'));
process.env.XDG_STATE_HOME = stateHome;
afterAll(() => rmSync(stateHome, { recursive: true, force: true }));
