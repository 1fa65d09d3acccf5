/**
 * Runs one AWS SDK for JavaScript v3 call in a child process, so SDK commands get what every
 * command gets: streamed output, a log file, a timeout and a cancel that kills the process.
 *
 *   node sdk-child.js '{"service":"ec2","operation":"DescribeInstances","parameters":{}}'
 *
 * The response (without `$metadata`) goes to stdout as JSON. A failure goes to stderr as
 * `<ErrorName>: <message>` (so retry patterns and dry-run checks can match it) and exits 1;
 * a missing client package exits 127. The engine resolves the endpoint, profile and region
 * and passes them in the call (`endpoint`, `profile`, `region`); they win over the
 * environment. With no endpoint in the call the SDK goes to AWS: endpoint variables
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) are removed, and an `endpoint_url` in the AWS
 * config file is ignored (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), so that nothing sends one call
 * somewhere the engine did not resolve (Debian's AWS CLI 2.9 reads neither). Credentials come
 * from the usual chain.
 */
interface SdkCall {
  service: string;
  operation: string;
  parameters: Record<string, unknown>;
  endpoint?: string | null;
  profile?: string | null;
  region?: string | null;
}

/** Only the engine's resolved endpoint, profile and region apply to this call. */
function applySettings(call: SdkCall): void {
  // The AWS CLI reads AWS_DEFAULT_REGION too; the JS SDK only AWS_REGION: one region for both.
  if (!process.env.AWS_REGION && process.env.AWS_DEFAULT_REGION)
    process.env.AWS_REGION = process.env.AWS_DEFAULT_REGION;
  // A call without the field comes from a caller that left the endpoint to the environment.
  if (call.endpoint === undefined) return;
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
  // Whatever the request's env says: a profile's endpoint_url must not apply either.
  process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = 'true';
  if (call.endpoint) process.env.AWS_ENDPOINT_URL = call.endpoint;
  if (call.profile) process.env.AWS_PROFILE = call.profile;
  if (call.region) process.env.AWS_REGION = call.region;
}

type Constructor = new (...args: unknown[]) => unknown;

async function main(): Promise<number> {
  const call = JSON.parse(process.argv[2] ?? '{}') as SdkCall;
  const packageName = `@aws-sdk/client-${call.service}`;
  let sdk: Record<string, unknown>;
  try {
    sdk = (await import(packageName)) as Record<string, unknown>;
  } catch {
    process.stderr.write(`ExecutorNotAvailable: ${packageName} is not installed (npm install ${packageName})\n`);
    return 127;
  }
  // The client class is the one export named <Something>Client with a `send` method (EC2Client, S3Client, ...).
  const Client = Object.entries(sdk).find(
    ([name, value]) =>
      name.endsWith('Client') &&
      typeof value === 'function' &&
      typeof (value as { prototype?: { send?: unknown } }).prototype?.send === 'function',
  )?.[1] as Constructor | undefined;
  const Command = sdk[`${call.operation}Command`] as Constructor | undefined;
  if (!Client || !Command) {
    process.stderr.write(
      `InvalidCommand: ${packageName} has no ${Client ? `${call.operation}Command` : 'client class'}\n`,
    );
    return 2;
  }
  applySettings(call);
  const endpoint = process.env.AWS_ENDPOINT_URL;
  // The endpoint is given to the client itself; the variable is not left for the SDK to read.
  delete process.env.AWS_ENDPOINT_URL;
  const client = new Client({
    ...(endpoint ? { endpoint } : {}),
    ...(call.service === 's3' && endpoint ? { forcePathStyle: true } : {}),
  }) as {
    send(command: unknown): Promise<Record<string, unknown>>;
  };
  try {
    const { $metadata: _metadata, ...response } = await client.send(new Command(call.parameters));
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return 0;
  } catch (err) {
    const e = err as { name?: string; Code?: string; message?: string };
    process.stderr.write(`${e.Code ?? e.name ?? 'Error'}: ${e.message ?? String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
