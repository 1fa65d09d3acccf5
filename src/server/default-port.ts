/** The port `cloudops-exec serve` listens on by default (its own module: clients need it without loading the server). */
export const DEFAULT_PORT = 8787;
