// biome-ignore-all format: operation tables read best one entry per line
/** IAM: users, roles, policies, access keys (what is attached to them, when they were last used). */
import { type Doc, fact, type Lookup, type OperationEntry, tagList, words } from './table.js';

const NOT_FOUND = /NoSuchEntity/;

const attached = (answer: Doc): string[] => (answer?.AttachedPolicies ?? []).map((p: Doc) => String(p.PolicyName));
const inline = (answer: Doc): string[] => (answer?.PolicyNames ?? []).map(String);
const list = (label: string, xs: string[]) => (xs.length > 0 ? `${label} ${xs.join(', ')}` : `no ${label}`);

const user: Lookup = {
  kind: 'each',
  calls: {
    user: (id) => ['iam', 'get-user', '--user-name', id],
    attached: (id) => ['iam', 'list-attached-user-policies', '--user-name', id],
    inline: (id) => ['iam', 'list-user-policies', '--user-name', id],
    keys: (id) => ['iam', 'list-access-keys', '--user-name', id],
    groups: (id) => ['iam', 'list-groups-for-user', '--user-name', id],
  },
  notFound: NOT_FOUND,
  found: (a) => {
    const policies = attached(a.attached);
    const keys = (a.keys?.AccessKeyMetadata ?? []).map((k: Doc) => `${k.AccessKeyId} (${k.Status})`);
    const groups = (a.groups?.Groups ?? []).map((g: Doc) => String(g.GroupName));
    const lastUsed = fact(a.user?.User?.PasswordLastUsed ?? null);
    return {
      details: {
        arn: fact(a.user?.User?.Arn),
        created: fact(a.user?.User?.CreateDate),
        password_last_used: lastUsed,
        attached_policies: policies,
        inline_policies: inline(a.inline),
        access_keys: keys,
        groups,
        tags: tagList(a.user?.User?.Tags),
      },
      summary: words(
        list('policies', [...policies, ...inline(a.inline)]),
        `${keys.length} access key${keys.length === 1 ? '' : 's'}`,
        groups.length > 0 ? `in ${groups.join(', ')}` : null,
        `last signed in ${lastUsed ?? 'never'}`,
      ),
    };
  },
};

const role: Lookup = {
  kind: 'each',
  calls: {
    role: (id) => ['iam', 'get-role', '--role-name', id],
    attached: (id) => ['iam', 'list-attached-role-policies', '--role-name', id],
    inline: (id) => ['iam', 'list-role-policies', '--role-name', id],
  },
  notFound: NOT_FOUND,
  found: (a) => {
    const r = a.role?.Role ?? {};
    const policies = attached(a.attached);
    const lastUsed = fact(r.RoleLastUsed?.LastUsedDate ?? null);
    return {
      details: {
        arn: fact(r.Arn),
        created: fact(r.CreateDate),
        last_used: lastUsed,
        attached_policies: policies,
        inline_policies: inline(a.inline),
        tags: tagList(r.Tags),
      },
      summary: words(list('policies', [...policies, ...inline(a.inline)]), `last used ${lastUsed ?? 'never'}`),
    };
  },
};

const policy: Lookup = {
  kind: 'each',
  calls: {
    policy: (id) => ['iam', 'get-policy', '--policy-arn', id],
    entities: (id) => ['iam', 'list-entities-for-policy', '--policy-arn', id],
  },
  notFound: NOT_FOUND,
  found: (a) => {
    const p = a.policy?.Policy ?? {};
    const e = a.entities ?? {};
    const users = [
      ...(e.PolicyUsers ?? []).map((x: Doc) => `user ${x.UserName}`),
      ...(e.PolicyRoles ?? []).map((x: Doc) => `role ${x.RoleName}`),
      ...(e.PolicyGroups ?? []).map((x: Doc) => `group ${x.GroupName}`),
    ];
    return {
      details: {
        policy_name: fact(p.PolicyName),
        attachment_count: fact(p.AttachmentCount),
        updated: fact(p.UpdateDate),
        in_use_by: users,
        tags: tagList(p.Tags),
      },
      summary: words(`(${p.PolicyName})`, users.length > 0 ? `attached to ${users.join(', ')}` : 'not attached'),
    };
  },
};

const accessKey: Lookup = {
  kind: 'each',
  calls: { used: (id) => ['iam', 'get-access-key-last-used', '--access-key-id', id] },
  notFound: /NoSuchEntity|not found/i,
  found: (a) => {
    const used = a.used?.AccessKeyLastUsed ?? {};
    const last = fact(used.LastUsedDate ?? null);
    return {
      details: {
        user_name: fact(a.used?.UserName),
        last_used: last,
        last_service: fact(used.ServiceName ?? null),
        last_region: fact(used.Region ?? null),
      },
      summary: words(`of ${a.used?.UserName}`, last ? `last used ${last} (${used.ServiceName})` : 'never used'),
    };
  },
};

export const IAM_OPERATIONS: OperationEntry[] = [
  { service: 'iam', operations: ['delete-user'], action: 'delete', resource_type: 'user', targets: (a) => a.values('--user-name', 'UserName'), lookup: user },
  { service: 'iam', operations: ['delete-role'], action: 'delete', resource_type: 'role', targets: (a) => a.values('--role-name', 'RoleName'), lookup: role },
  { service: 'iam', operations: ['delete-policy'], action: 'delete', resource_type: 'policy', targets: (a) => a.values('--policy-arn', 'PolicyArn'), lookup: policy },
  { service: 'iam', operations: ['delete-access-key'], action: 'delete', resource_type: 'access-key', targets: (a) => a.values('--access-key-id', 'AccessKeyId'), lookup: accessKey },
];
