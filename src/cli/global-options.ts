/**
 * `--log-dir` and `--no-color` belong to every subcommand as well as to the program, so they
 * work in any position: `cloudops-exec --log-dir X list` and `cloudops-exec list --log-dir X`.
 * (The program keeps positional options so `exec -- ls --log-dir` passes its arguments through.)
 */
import type { Command } from 'commander';

/** The options' keys as commander stores them. */
const GLOBAL_KEYS = ['logDir', 'color'] as const;

export function acceptGlobalOptionsEverywhere(program: Command): void {
  const add = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.option('--log-dir <dir>', 'where execution logs are written and read (as before the subcommand)');
      sub.option('--no-color', 'plain output without colours (also: NO_COLOR=1)');
      add(sub);
    }
  };
  add(program);
  // `optsWithGlobals` lets the program's values win (its `color: true` default included): the
  // value given nearest the subcommand is copied up the chain, so the one typed last counts.
  program.hook('preAction', (_program, action) => {
    const chain: Command[] = [];
    for (let cmd: Command | null = action; cmd; cmd = cmd.parent) chain.push(cmd);
    for (const key of GLOBAL_KEYS) {
      const given = chain.find((cmd) => cmd.getOptionValueSource(key) === 'cli');
      if (!given) continue;
      const value: unknown = given.getOptionValue(key);
      for (const cmd of chain) cmd.setOptionValueWithSource(key, value, 'cli');
    }
  });
}
