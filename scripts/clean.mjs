// Before tsc: start from an empty dist/, so files of modules that moved or were removed are never published.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
