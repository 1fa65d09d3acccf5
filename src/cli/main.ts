#!/usr/bin/env node
/**
 * `cloudops-exec`: a thin command-line adapter over ExecutionEngine. Parsing and exit codes
 * live here; every decision about running commands is the engine's. Each subcommand's module
 * is loaded when it runs: `--help`, `validate` or `logs` never load the server or the queue.
 */
// First: it sets how WebAssembly compiles, before the shell parser's module is compiled.
import './wasm-tiering.js';
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import {
  APPROVAL_STATES,
  EXECUTION_STATUSES,
  ExecutionKindSchema,
  RESULT_ERROR_CODES,
  RISK_LEVELS,
  ROLES,
} from '../vocabulary.js';
import { EXIT, reportError } from './exit.js';
import { acceptGlobalOptionsEverywhere } from './global-options.js';
import { ALLOW_UNKNOWN_FIELDS_HELP, addEngineOptions, addSingleOptions } from './options.js';
import { SERVER_ENV } from './server-env.js';
import { outputClosed, stopWhenOutputCloses } from './stdout.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('cloudops-exec')
    .description(
      'Run commands and plans through cloudops-execution-engine: live output, timeouts, cancellation of whole process trees, logs.',
    )
    .version(version)
    .option(
      '--log-dir <dir>',
      'where execution logs are written and read (default: $CLOUDOPS_LOG_DIR, else $XDG_STATE_HOME/cloudops-execution-engine or ~/.local/state/cloudops-execution-engine)',
    )
    .option('--no-color', 'plain output without colours (also: NO_COLOR=1)')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 a command failed, 2 bad input, 124 timeout (exec/sh), 127 cannot run (exec/sh), 130 interrupted.${examples(
        'cloudops-exec run examples/parallel.json',
        "cloudops-exec sh 'uname -a'",
        'cloudops-exec list',
      )}`,
    );

  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number> | number) =>
    async (...args: A) => {
      try {
        setExitCode(await fn(...args));
      } catch (err) {
        setExitCode(reportError(err));
      }
    };

  addEngineOptions(
    program
      .command('run')
      .description('Run a plan file (JSON or YAML; `cloudops-exec schema` prints its JSON Schema); "-" reads stdin')
      .argument('<plan>', 'plan file, or - for stdin')
      .option(
        '--json',
        'print the event stream as NDJSON (then one {"plan_result": ...} line); the risk goes to stderr',
      )
      .option(
        '-y, --yes',
        'run modify and destructive work without asking (scripts; needed for destructive work off a terminal)',
      )
      .option('--dry-run', 'show what would happen (as `cloudops-exec plan`) and run nothing')
      .option(
        '--param <NAME=VALUE>',
        "a value for one of the plan's parameters, checked against its type (repeat for more: --param env=prod --param count=3)",
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option('--allow-unknown-fields', ALLOW_UNKNOWN_FIELDS_HELP)
      .option(
        '--new-ids',
        'run the plan under fresh ids (the plan and its commands), e.g. a plan file with fixed ids again',
      )
      .option(
        '--approve-via [url]',
        `submit to a running \`cloudops-exec serve\` and wait for its approvals, then follow the run (default: $${SERVER_ENV}); your token: $CLOUDOPS_EXEC_TOKEN`,
      ),
  )
    .addHelpText(
      'after',
      `\nBefore anything runs, the plan's risk is shown (per command and overall). On a terminal, modify work asks y/yes, destructive work asks for the plan's short id or yes; off a terminal, destructive work needs --yes (else exit 2, nothing ran). A declined prompt exits 1 and runs nothing.${examples(
        'cloudops-exec run examples/dag.yaml',
        'cloudops-exec run --json examples/serial.json | jq .event_type',
        'cloudops-exec run --param env_name=prod runbook.yaml',
        'cat plan.json | cloudops-exec run -',
        'cloudops-exec run --yes cleanup.yaml            # scripts: no question asked',
        'cloudops-exec run --approve-via http://ops.internal:8787 cleanup.yaml',
      )}`,
    )
    .action(
      act(async (file: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/run.js')).runCommand(
          file,
          cmd.optsWithGlobals(),
          (await import('./commands/run.js')).givenOn(cmd),
        ),
      ),
    );

  addEngineOptions(
    program
      .command('retry')
      .description(
        'Resume a plan run that did not complete: the steps that completed are carried over (not run again; their outputs still feed later steps), the others run',
      )
      .argument('<plan-id>', 'the plan run to resume (its id, or the start of it)')
      .option('--from <step>', 'run this step (name or index) and every step after it again, even if it completed')
      .option('--plan <file>', 'the plan file again: needed when the recorded plan has secret values hidden')
      .option(
        '--param <NAME=VALUE>',
        'with --plan: the parameter values it ran with (repeat for more)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option('--json', 'print the event stream as NDJSON (then one {"plan_result": ...} line)')
      .option('-y, --yes', 'run modify and destructive work without asking (as run)')
      .option('--dry-run', 'show what the resumed run would do and run nothing')
      .option(
        '--approve-via [url]',
        `resume a run of a running \`cloudops-exec serve\` there, under its approval rules (default: $${SERVER_ENV}); your token: $CLOUDOPS_EXEC_TOKEN`,
      ),
  )
    .addHelpText(
      'after',
      `\nThe run is read from the history in the log directory (--log-dir). The steps that will run are shown with their risk and asked about as with run; a resumed run is a new run linked to the old one (resumed_from). Exit codes as run.${examples(
        'cloudops-exec retry 5f0c6a3e',
        'cloudops-exec retry 5f0c6a3e --from deploy',
        'cloudops-exec retry --approve-via http://ops.internal:8787 5f0c6a3e',
      )}`,
    )
    .action(
      act(async (planId: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/retry.js')).retryCommand(
          planId,
          cmd.optsWithGlobals(),
          (await import('./commands/run.js')).givenOn(cmd),
        ),
      ),
    );

  addEngineOptions(
    program
      .command('plan')
      .description(
        "Show what running a plan would do and run nothing: its risk, AWS's dry-run verdicts (EC2 calls), the AWS resources each command would change (looked up with read-only calls) and warnings about them, what every other command would run",
      )
      .argument('<plan>', 'plan file, or - for stdin')
      .option('--json', 'print the dry run as JSON')
      .option('--allow-unknown-fields', ALLOW_UNKNOWN_FIELDS_HELP),
  )
    .addHelpText(
      'after',
      `\nExit codes: 0 nothing would fail, 1 AWS said a call would fail, 2 bad input.${examples(
        'cloudops-exec plan cleanup.yaml',
        'cloudops-exec plan --json cleanup.yaml | jq .dry_run.commands',
      )}`,
    )
    .action(
      act(async (file: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/plan-preview.js')).planCommand(file, cmd.optsWithGlobals()),
      ),
    );

  addSingleOptions(
    program
      .command('exec')
      .description('Run one program with arguments (no shell); exit code mirrors it')
      .argument('<program>', 'program to run')
      .argument('[args...]', 'its arguments (put -- before them if they start with -)')
      .passThroughOptions(),
  )
    .addHelpText(
      'after',
      examples('cloudops-exec exec -- ls -la /tmp', 'cloudops-exec exec --timeout 5000 -- sleep 10   # exits 124'),
    )
    .action(
      act(async (program: string, args: string[], _opts: unknown, cmd: Command) =>
        (await import('./commands/single.js')).runSingle({ type: 'exec', program, args }, cmd.optsWithGlobals()),
      ),
    );

  addSingleOptions(
    program
      .command('sh')
      .description('Run a shell command string (bash by default); exit code mirrors it')
      .argument('<command>', 'the command string')
      .option('--shell <shell>', 'shell to run it with', 'bash'),
  )
    .addHelpText(
      'after',
      examples("cloudops-exec sh 'for i in 1 2 3; do echo $i; sleep 1; done'", "cloudops-exec sh --shell sh 'echo $0'"),
    )
    .action(
      act(async (command: string, _opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<{ shell: string }>();
        return (await import('./commands/single.js')).runSingle({ type: 'shell', command, shell: opts.shell }, opts);
      }),
    );

  program
    .command('validate')
    .description('Check a plan file without running it; errors name the field and its line')
    .argument('<plan>', 'plan file, or - for stdin')
    .option('--max-concurrent <n>', 'as for run')
    .option('--timeout <ms>', 'as for run (sets the allowed maximum)')
    .option('--allow-unknown-fields', ALLOW_UNKNOWN_FIELDS_HELP)
    .addHelpText('after', examples('cloudops-exec validate examples/dag.yaml'))
    .action(
      act(async (file: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/inspect.js')).validateCommand(file, cmd.optsWithGlobals()),
      ),
    );

  program
    .command('schema')
    .description('Print the JSON Schema of a wire object: plan (default), request, event, result, plan_result')
    .argument('[name]', 'which schema', 'plan')
    .addHelpText('after', examples('cloudops-exec schema > plan.schema.json', 'cloudops-exec schema event'))
    .action(act(async (name: string) => (await import('./commands/inspect.js')).schemaCommand(name)));

  program
    .command('logs')
    .description('Print the log of an execution; --follow keeps printing until it ends')
    .argument('<id>', 'execution or plan id')
    .option('-f, --follow', 'wait for new output until the execution finishes')
    .addHelpText(
      'after',
      examples(
        'cloudops-exec logs 5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11',
        'cloudops-exec logs -f 5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11',
      ),
    )
    .action(
      act(async (id: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/logs.js')).logsCommand(id, cmd.optsWithGlobals()),
      ),
    );

  program
    .command('list')
    .description('List executions found in the log directory, newest first')
    .option('--json', 'print as JSON')
    .option('-n, --limit <n>', 'how many (0 for all)', '20')
    .addHelpText('after', examples('cloudops-exec list', 'cloudops-exec list --json -n 0'))
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/logs.js')).listCommand(cmd.optsWithGlobals()),
      ),
    );

  program
    .command('status')
    .description('Show the status of one execution (running, completed, failed, ..., interrupted)')
    .argument('<id>', 'execution or plan id')
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('cloudops-exec status 5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11'))
    .action(
      act(async (id: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/logs.js')).statusCommand(id, cmd.optsWithGlobals()),
      ),
    );

  program
    .command('history')
    .description('Executions in the history store, newest first, with filters')
    .option('--status <status>', EXECUTION_STATUSES.join(', '))
    .option('--risk <level>', RISK_LEVELS.join(', '))
    .option('--error-code <code>', `why it did not succeed: ${RESULT_ERROR_CODES.join(', ')}`)
    .option('--conversation <id>', 'only this conversation')
    .option('--kind <kind>', ExecutionKindSchema.options.join(' or '))
    .option('--from <time>', 'submitted at or after (date or RFC 3339)')
    .option('--to <time>', 'submitted at or before')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--offset <n>', 'skip this many')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      examples(
        'cloudops-exec history --status failed --from 2026-11-17 --to 2026-11-18',
        'cloudops-exec history --risk destructive --json',
        'cloudops-exec history --error-code timeout',
      ),
    )
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/history.js')).historyCommand(cmd.optsWithGlobals()),
      ),
    );

  program
    .command('search')
    .description('Full-text search over commands, descriptions, output and user prompts in the history')
    .argument('<query>', 'words that must all appear')
    .option('--conversation <id>', 'only this conversation')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      examples("cloudops-exec search 'terminate-instances prod'", 'cloudops-exec search AccessDenied --json'),
    )
    .action(
      act(async (query: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/history.js')).searchCommand(query, cmd.optsWithGlobals()),
      ),
    );

  const auth = program
    .command('auth')
    .description(
      "The server's principals (who may sign in, with which role), in the history store of --log-dir; changes reach a running server at once",
    )
    .addHelpText(
      'after',
      `\nRoles: viewer reads; submitter reads, submits and cancels its own work; approver reads, decides approvals and cancels; admin does everything.\nThe server's own token (serve --token, CLOUDOPS_EXEC_TOKEN, or generated) signs in as admin.${examples(
        'cloudops-exec auth add alice --role approver',
        'cloudops-exec auth add ci-bot --role submitter --json',
        'cloudops-exec auth list',
        'cloudops-exec auth revoke ci-bot',
      )}`,
    );
  auth
    .command('add')
    .description('Add a principal and print its API token (shown only this once)')
    .argument('<name>', 'lower-case letters, digits, "_", "." and "-" (up to 64)')
    .option('--role <role>', ROLES.join(', '))
    .option('--json', 'print {principal, token} as JSON')
    .action(
      act(async (name: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/auth.js')).authAddCommand(name, cmd.optsWithGlobals()),
      ),
    );
  auth
    .command('list')
    .description('Every principal with its role, when and by whom it was added, and when it was revoked (never tokens)')
    .option('--json', 'print as JSON')
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/auth.js')).authListCommand(cmd.optsWithGlobals()),
      ),
    );
  auth
    .command('revoke')
    .description('Revoke a principal: its token and browser sessions stop working at once (the name stays taken)')
    .argument('<name>', 'the principal')
    .option('--json', 'print the revoked principal as JSON')
    .action(
      act(async (name: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/auth.js')).authRevokeCommand(name, cmd.optsWithGlobals()),
      ),
    );

  program
    .command('audit')
    .description(
      'The audit trail in the history store of --log-dir (who did what, when, from where); --verify checks its hash chain',
    )
    .option('--verify', 'recompute the hash chain: exit 1 naming the first entry changed, deleted or out of order')
    .option(
      '--expect-last <n:hash>',
      'with --verify: entry n must still be in the chain with this hash (the "last entry" line an earlier --verify printed)',
    )
    .option('-n, --limit <n>', 'how many of the latest entries, default 20 (0 for all)')
    .option('--after <seq>', 'entries numbered above this one, oldest first')
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('cloudops-exec audit -n 50', 'cloudops-exec audit --verify'))
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/audit.js')).auditCommand(cmd.optsWithGlobals()),
      ),
    );

  // The terminal side of approvals: a client of a running server, acting as the token's principal.
  const serverOption = `the server (default: $${SERVER_ENV}, else http://127.0.0.1:8787); your token: $CLOUDOPS_EXEC_TOKEN`;
  const decisionExits =
    '\nExit codes: 0 done, 1 refused by the server (its code and reason are printed), 2 bad input or no server.';
  program
    .command('mcp')
    .description(
      "MCP over stdio for AI assistants that launch a command: bridges to a running server's /mcp as the token's principal (tools to assess, submit and follow work; none approves)",
    )
    .option('--server <url>', serverOption)
    .addHelpText(
      'after',
      `\nStdout carries only the protocol; messages go to stderr. Exit codes: 0 the client closed stdin, 1 the server refused the token, 2 no token or no server.\n\nIn an MCP client's configuration:\n  {"mcpServers": {"cloudops": {"command": "cloudops-exec", "args": ["mcp", "--server", "http://127.0.0.1:8787"],\n                              "env": {"CLOUDOPS_EXEC_TOKEN": "<a submitter token>"}}}}${examples('CLOUDOPS_EXEC_TOKEN=$(cat assistant.token) cloudops-exec mcp --server http://127.0.0.1:8787')}`,
    )
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/mcp.js')).mcpCommand(cmd.optsWithGlobals()),
      ),
    );
  program
    .command('approvals')
    .description('Approvals on a running server, newest first: state, risk, approvals so far, submitter, time left')
    .option('--state <state>', APPROVAL_STATES.join(', '))
    .option('--server <url>', serverOption)
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('cloudops-exec approvals --state pending', 'cloudops-exec approvals --json'))
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/approvals.js')).approvalsCommand(cmd.optsWithGlobals()),
      ),
    );
  program
    .command('approval')
    .description('One approval on a running server (approval show ID)')
    .command('show')
    .description('Risk, commands, dry-run verdicts, plan digest, approvers so far, how many still needed, time left')
    .argument('<id>', 'approval id (the plan id)')
    .option('--server <url>', serverOption)
    .option('--json', 'print as JSON')
    .action(
      act(async (id: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/approvals.js')).approvalShowCommand(id, cmd.optsWithGlobals()),
      ),
    );
  program
    .command('approve')
    .description(
      'Approve a plan as yourself: exactly the plan you read (--sha256 from approval show, or confirm it on a terminal)',
    )
    .argument('<id>', 'approval id')
    .option(
      '--sha256 <digest>',
      'the plan_sha256 approval show printed (or its first 16+ hex digits): a plan changed since is not approved; required when stdin is not a terminal',
    )
    .option('--note <text>', 'a note kept with your approval')
    .option('--server <url>', serverOption)
    .option('--json', 'print the approval after the decision as JSON')
    .addHelpText(
      'after',
      `${decisionExits}${examples('cloudops-exec approve 5f0c6a3e --sha256 9d4e1f0a7b3c --note "instance ids checked"')}`,
    )
    .action(
      act(async (id: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/approvals.js')).approveCommand(id, cmd.optsWithGlobals()),
      ),
    );
  program
    .command('reject')
    .description('Reject a plan as yourself (one rejection rejects)')
    .argument('<id>', 'approval id')
    .requiredOption('--reason <text>', 'why (shown to the submitter)')
    .option('--note <text>', 'a note kept with the decision')
    .option('--server <url>', serverOption)
    .option('--json', 'print the approval after the decision as JSON')
    .addHelpText('after', `${decisionExits}${examples('cloudops-exec reject 5f0c6a3e --reason "wrong account"')}`)
    .action(
      act(async (id: string, _opts: unknown, cmd: Command) =>
        (await import('./commands/approvals.js')).rejectCommand(id, cmd.optsWithGlobals()),
      ),
    );

  addEngineOptions(
    program
      .command('serve')
      .description('Serve the HTTP API, live events (WebSocket, SSE) and the web dashboard until Ctrl-C')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port (0: any free port)', '8787')
      .option('--allow-unknown-fields', `${ALLOW_UNKNOWN_FIELDS_HELP}; applies to submitted requests and plans`)
      .option(
        '--token <token>',
        'API token (visible in ps: prefer --token-file; default: $CLOUDOPS_EXEC_TOKEN, else generated at first start and saved in <log-dir>/server-token)',
      )
      .option('--token-file <path>', 'read the API token from this file (yours, mode 0600)')
      .option(
        '--allow-env <name>',
        'accept this loader variable (PATH, LD_PRELOAD, NODE_OPTIONS, ...) in requests; repeatable',
        (name: string, names: string[]) => [...names, name],
        [] as string[],
      )
      .option(
        '--approve <level>',
        'what waits for a human: none, destructive, modify (modify and destructive), all',
        'modify',
      )
      .option(
        '--unverified-risk <level>',
        `how work whose effect cannot be verified (scripts, interpreters, unknown programs, computed commands) is rated: ${RISK_LEVELS.join(', ')}`,
        'destructive',
      )
      .option(
        '--approvals <counts>',
        'distinct approvers each risk level needs, as level=count pairs (default modify=1,destructive=2; read_only=1)',
      )
      .option(
        '--approval-ttl <duration>',
        'how long a pending approval waits before it expires: 90s, 30m, 24h, 7d or ms',
        '24h',
      )
      .option(
        '--dry-run-max-age <duration>',
        "an approval's dry run older than this when the last approval arrives is run again before the start",
        '15m',
      )
      .option('--body-limit <bytes>', 'largest request body', '1048576')
      .option(
        '--drain-timeout <ms>',
        'on Ctrl-C, how long running commands may finish before they are cancelled',
        '30000',
      )
      .option(
        '-q, --quiet',
        'no request log (one line per request on stdout: client, principal, method, path, status, duration)',
      ),
  )
    .addHelpText(
      'after',
      examples(
        'cloudops-exec serve',
        'cloudops-exec serve --port 0 --approve destructive',
        'cloudops-exec serve --approvals modify=1,destructive=2 --approval-ttl 8h',
        'CLOUDOPS_EXEC_TOKEN=$(openssl rand -hex 32) cloudops-exec serve --host 0.0.0.0',
      ),
    )
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/serve.js')).serveCommand(cmd.optsWithGlobals()),
      ),
    );

  // The worker's own options, not the submitters': it takes jobs from Redis (`--redis` names where,
  // not whether), and `--concurrency` is its limit (`--max-concurrent` would be ignored, so it is refused).
  program
    .command('worker')
    .description('Run queued commands from Redis (scale-out): submitters started with --redis send their commands here')
    .option('--redis <url>', 'the Redis the submitters queue commands in (required; also: $CLOUDOPS_REDIS_URL)')
    .option('--queue <name>', 'the queue to take commands from: the name the submitters use', 'cloudops-exec')
    .option('--concurrency <n>', 'commands this worker runs at once', '4')
    .option(
      '--on-worker-lost <what>',
      'a command whose worker dies mid-run: fail, or retry once on another worker',
      'fail',
    )
    .option('--lock-duration <ms>', 'how long a silent worker keeps its jobs before they count as lost', '30000')
    .option(
      '--max-timeout <ms>',
      'the longest timeout a queued command may have (default: 10 minutes); longer ones are refused, never cut short',
    )
    .option('--kill-grace <ms>', 'grace between SIGTERM and SIGKILL when a command is cancelled or times out')
    .option('--aws-cli <path>', 'AWS CLI binary for aws_cli commands')
    .addHelpText(
      'after',
      examples(
        'cloudops-exec worker --redis redis://127.0.0.1:6379',
        'cloudops-exec worker --redis redis://queue.internal:6379 --concurrency 8 --on-worker-lost retry',
        'cloudops-exec run --redis redis://127.0.0.1:6379 examples/dag.yaml   # submitter: runs on the workers',
      ),
    )
    .action(
      act(async (_opts: unknown, cmd: Command) =>
        (await import('./commands/worker.js')).workerCommand(cmd.optsWithGlobals()),
      ),
    );

  acceptGlobalOptionsEverywhere(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  stopWhenOutputCloses();
  let exitCode: number = EXIT.OK;
  const program = buildProgram((code) => (exitCode = code));
  // Every subcommand, nested ones too (`auth add`): a usage error there is bad input (2), not commander's own exit.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    for (const sub of cmd.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Commander has already printed its message (usage errors) or the help/version text.
    exitCode = err instanceof CommanderError ? (err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT) : reportError(err);
  }
  // Let piped output drain before exiting.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  // The reader went away (`| head`): a normal end, not the cancellation it caused (stdout.ts).
  process.exit(outputClosed() ? EXIT.OK : exitCode);
}

void main(process.argv);
