/** Which AWS CLI binary runs `aws_cli` commands when the configuration names none. */
import { existsSync } from 'node:fs';

/**
 * Debian's `/usr/bin/aws` (v2) when it exists, chosen deliberately over whatever `aws` (often
 * a pip v1) comes first on PATH; else `aws` from the PATH.
 */
export function defaultAwsCliPath(): string {
  return existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
}
