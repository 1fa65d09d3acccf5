/**
 * One MCP session's server (the SDK's low-level `Server`): the tool catalogue with JSON Schemas
 * from the zod schemas, tool calls answered as results or as tool errors carrying the HTTP
 * API's error body (a bad call never ends the session), resources and their subscriptions.
 * Every answer is redacted as the HTTP API's answers are.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { redactData } from '../../policy/redact-data.js';
import { inputJsonSchema } from '../../wire/json-schema.js';
import type { RequestPrincipal } from '../access.js';
import type { ServerContext } from '../context.js';
import { httpErrorOf } from '../http-errors.js';
import { RESOURCE_TEMPLATES, readResource, Subscriptions } from './resources.js';
import { callTool, TOOLS, type ToolCaller } from './tools.js';

/** What the HTTP layer knows of the request a message came in: set as the SDK's `authInfo.extra`. */
export interface McpRequestContext {
  principal: RequestPrincipal;
  source: string;
  baseUrl: string;
}

const INSTRUCTIONS = `This server runs system and AWS commands for people, under their approval rules.
You can look (search_history, get_execution, read_log, get_approval), check a plan without running it (assess_plan), propose work (submit_plan) and stop your own work (cancel_execution).
You cannot approve anything: work the policy holds back (changes, deletions) waits for people, who decide in the dashboard. Give them the approval_url submit_plan returns, then follow it with get_approval or get_execution (wait_ms).
Always pass the conversation_id and the person's request (user_prompt) to submit_plan. Secrets in output are shown as ***.`;

/** The tool list as MCP publishes it: computed once (the schemas do not change). */
let toolList: Array<Record<string, unknown>> | null = null;
function listTools() {
  toolList ??= TOOLS.map((tool) => {
    const { $schema: _ignored, ...inputSchema } = inputJsonSchema(tool.input, { shared: true });
    return {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema,
      annotations: {
        title: tool.title,
        readOnlyHint: tool.readOnly,
        destructiveHint: tool.destructive,
        openWorldHint: tool.name === 'assess_plan' || tool.name === 'submit_plan',
      },
    };
  });
  return toolList;
}

/** The error body the HTTP API would answer, with its status. */
function errorBody(err: unknown) {
  const { status, body } = httpErrorOf(err);
  return { ...body, status };
}

function callerOf(extra: { authInfo?: { extra?: Record<string, unknown> }; signal: AbortSignal }): ToolCaller {
  const context = extra.authInfo?.extra?.request as McpRequestContext | undefined;
  // Only reachable through the authenticated route, which always sets it.
  if (!context) throw new McpError(ErrorCode.InvalidRequest, 'not signed in');
  return { ...context, signal: extra.signal };
}

export interface McpSession {
  server: Server;
  close(): Promise<void>;
}

export function createMcpServer(ctx: ServerContext, version: string): McpSession {
  const server = new Server(
    { name: 'cloudops-exec', title: 'cloudops-exec', version },
    { capabilities: { tools: {}, resources: { subscribe: true } }, instructions: INSTRUCTIONS },
  );
  const config = ctx.engine.config;
  const subscriptions = new Subscriptions(ctx, (uri) => {
    server.sendResourceUpdated({ uri }).catch(() => undefined); // the client went away: nothing to tell
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listTools() }) as never);

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    try {
      const result = redactData(await callTool(ctx, request.params.name, args, callerOf(extra)), config, [args]);
      return {
        content: [{ type: 'text' as const, text: JSON.stringify(result) }],
        structuredContent: result as Record<string, unknown>,
      };
    } catch (err) {
      if (err instanceof McpError) throw err;
      const body = redactData(errorBody(err), config, [args]);
      return {
        isError: true,
        content: [{ type: 'text' as const, text: JSON.stringify(body) }],
        structuredContent: body,
      };
    }
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [...RESOURCE_TEMPLATES],
  }));
  // Resources are reached by id (from a tool's answer), not listed.
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: [] }));

  /** A resource error as a protocol error carrying the HTTP API's body (resources have no tool-error form). */
  const asMcpError = (err: unknown) => {
    if (err instanceof McpError) return err;
    const body = redactData(errorBody(err), config);
    return new McpError(body.status === 404 ? -32002 : ErrorCode.InvalidParams, body.error.message, body);
  };

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    try {
      return redactData(await readResource(ctx, request.params.uri, callerOf(extra)), config);
    } catch (err) {
      throw asMcpError(err);
    }
  });
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    try {
      subscriptions.add(request.params.uri);
      return {};
    } catch (err) {
      throw asMcpError(err);
    }
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.remove(request.params.uri);
    return {};
  });

  return {
    server,
    close: async () => {
      subscriptions.close();
      await server.close();
    },
  };
}
