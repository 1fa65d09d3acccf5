// After tsc: make the CLI executable and copy the dashboard's static files next to the server.
import { chmodSync, cpSync, rmSync } from 'node:fs';

chmodSync('dist/cli/main.js', 0o755);
rmSync('dist/server/dashboard', { recursive: true, force: true });
cpSync('src/server/dashboard', 'dist/server/dashboard', { recursive: true });
