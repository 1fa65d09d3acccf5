/** CloudFormation: a stack's deletion takes every resource in it. */
import { type Doc, fact, type Lookup, type OperationEntry, tagList, words } from './table.js';

const stack: Lookup = {
  kind: 'each',
  calls: {
    stack: (id) => ['cloudformation', 'describe-stacks', '--stack-name', id],
    resources: (id) => ['cloudformation', 'list-stack-resources', '--stack-name', id],
  },
  notFound: /does not exist/,
  found: (a) => {
    const s = a.stack?.Stacks?.[0] ?? {};
    const resources = (a.resources?.StackResourceSummaries ?? []).map(
      (r: Doc) => `${r.ResourceType} ${r.PhysicalResourceId ?? r.LogicalResourceId}`,
    );
    const protection = s.EnableTerminationProtection === true;
    return {
      details: {
        status: fact(s.StackStatus),
        created: fact(s.CreationTime),
        resources,
        resource_count: resources.length,
        deletion_protection: protection,
        tags: tagList(s.Tags),
      },
      summary: words(
        s.StackStatus,
        `${resources.length} resource${resources.length === 1 ? '' : 's'}${resources.length > 0 ? `: ${resources.slice(0, 5).join(', ')}${resources.length > 5 ? ', ...' : ''}` : ''}`,
        protection ? 'termination protection ON' : null,
      ),
    };
  },
};

export const CLOUDFORMATION_OPERATIONS: OperationEntry[] = [
  {
    service: 'cloudformation',
    operations: ['delete-stack'],
    action: 'delete',
    resource_type: 'stack',
    targets: (a) => a.values('--stack-name', 'StackName'),
    lookup: stack,
  },
];
