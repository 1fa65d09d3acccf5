/**
 * Imported first by the CLI's entry point, before anything compiles WebAssembly: the shell
 * parser (tree-sitter's bash grammar, 1.3 MB of wasm) runs on V8's baseline compiler only.
 *
 * By default V8 recompiles a wasm function with its optimising compiler once it has run a
 * while. The grammar's lexer is one huge function: its first parse of a shell string starts an
 * optimising compile that costs about 1.3 s of CPU, and the process cannot exit before it ends,
 * so `cloudops-exec sh 'echo hi'` took 2 s instead of 0.6 s. Baseline code is fast enough for
 * shell strings (it was also faster over 20,000 parses, the compile never paying for itself).
 * Set here, in the program, not in the library: an application embedding the engine keeps its
 * own engine settings.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
