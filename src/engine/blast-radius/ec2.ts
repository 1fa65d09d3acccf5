// biome-ignore-all format: operation tables read best one entry per line
/** EC2: instances, volumes, snapshots, security groups. */
import { type Doc, fact, type Lookup, type OperationEntry, option, tagList, tagValue, words } from './table.js';

/** `Name=instance-id,Values=a,b`: only the ids that exist come back, no error for the others. */
const filter = (name: string, ids: string[]) => ['--filters', `Name=${name},Values=${ids.join(',')}`];

const instances: Lookup = {
  kind: 'list',
  argv: (ids) => ['ec2', 'describe-instances', ...filter('instance-id', ids)],
  items: (answer) => (answer?.Reservations ?? []).flatMap((r: Doc) => r?.Instances ?? []),
  id: (item) => item.InstanceId,
  found: (item) => {
    const tags = tagList(item.Tags);
    const name = tagValue(item.Tags, 'Name');
    const others = tags.filter((t) => !t.startsWith('Name='));
    return {
      details: {
        Name: name,
        state: fact(item.State?.Name),
        instance_type: fact(item.InstanceType),
        launch_time: fact(item.LaunchTime),
        availability_zone: fact(item.Placement?.AvailabilityZone),
        tags,
      },
      summary: words(name ? `(${name})` : null, item.State?.Name, item.InstanceType, others.join(', ')),
    };
  },
};

const volumes: Lookup = {
  kind: 'list',
  argv: (ids) => ['ec2', 'describe-volumes', ...filter('volume-id', ids)],
  items: (answer) => answer?.Volumes ?? [],
  id: (item) => item.VolumeId,
  found: (item) => {
    const attached = (item.Attachments ?? []).map((a: Doc) => `${a.InstanceId} (${a.Device})`);
    const tags = tagList(item.Tags);
    return {
      details: {
        Name: tagValue(item.Tags, 'Name'),
        size_gib: fact(item.Size),
        state: fact(item.State),
        volume_type: fact(item.VolumeType),
        snapshot_id: fact(item.SnapshotId || null),
        in_use_by: attached,
        tags,
      },
      summary: words(
        `${item.Size} GiB`,
        item.VolumeType,
        item.State,
        attached.length > 0 ? `attached to ${attached.join(', ')}` : 'not attached',
        tags.join(', '),
      ),
    };
  },
};

const snapshots: Lookup = {
  kind: 'list',
  argv: (ids) => ['ec2', 'describe-snapshots', ...filter('snapshot-id', ids)],
  items: (answer) => answer?.Snapshots ?? [],
  id: (item) => item.SnapshotId,
  found: (item) => {
    const tags = tagList(item.Tags);
    return {
      details: {
        size_gib: fact(item.VolumeSize),
        volume_id: fact(item.VolumeId),
        start_time: fact(item.StartTime),
        description: fact(item.Description || null),
        tags,
      },
      summary: words(`${item.VolumeSize} GiB`, `of ${item.VolumeId}`, item.StartTime, tags.join(', ')),
    };
  },
};

/** A rule as a person reads it: `tcp 22 from 0.0.0.0/0, sg-1`. */
function rule(p: Doc): string {
  const protocol = p.IpProtocol === '-1' ? 'all' : p.IpProtocol;
  const ports = p.FromPort === undefined ? '' : p.FromPort === p.ToPort ? ` ${p.FromPort}` : ` ${p.FromPort}-${p.ToPort}`;
  const from = [
    ...(p.IpRanges ?? []).map((r: Doc) => r.CidrIp),
    ...(p.Ipv6Ranges ?? []).map((r: Doc) => r.CidrIpv6),
    ...(p.UserIdGroupPairs ?? []).map((g: Doc) => g.GroupId),
    ...(p.PrefixListIds ?? []).map((l: Doc) => l.PrefixListId),
  ];
  return `${protocol}${ports} from ${from.join(', ') || 'nowhere'}`;
}

const securityGroups: Lookup = {
  kind: 'list',
  argv: (ids) => ['ec2', 'describe-security-groups', ...filter('group-id', ids)],
  items: (answer) => answer?.SecurityGroups ?? [],
  id: (item) => item.GroupId,
  // What still uses it: network interfaces (instances, load balancers, databases, ...).
  more: { interfaces: (id) => ['ec2', 'describe-network-interfaces', ...filter('group-id', [id])] },
  found: (item, more) => {
    const users = (more.interfaces?.NetworkInterfaces ?? []).map((n: Doc) =>
      n.Attachment?.InstanceId ? `${n.NetworkInterfaceId} (${n.Attachment.InstanceId})` : n.NetworkInterfaceId,
    );
    const ingress = (item.IpPermissions ?? []).map(rule);
    return {
      details: {
        group_name: fact(item.GroupName),
        vpc_id: fact(item.VpcId),
        ingress_rules: ingress,
        in_use_by: users,
        tags: tagList(item.Tags),
      },
      summary: words(
        `(${item.GroupName})`,
        item.VpcId,
        `${ingress.length} ingress rule${ingress.length === 1 ? '' : 's'}`,
        users.length > 0 ? `used by ${users.join(', ')}` : 'not in use',
      ),
    };
  },
};

/** What a revoke names: the rules of --ip-permissions as written, or --protocol/--port/--cidr. */
function revoked(args: Parameters<OperationEntry['targets']>[0]): string[] {
  const json = args.raw('--ip-permissions', 'IpPermissions');
  if (Array.isArray(json)) return json.map(rule);
  const written = args.values('--ip-permissions', 'IpPermissions');
  if (written.length > 0) return written;
  const protocol = args.value('--protocol', 'IpProtocol');
  if (protocol === null) return [];
  const from = args.value('--cidr', 'CidrIp') ?? args.value('--source-group', 'SourceSecurityGroupName') ?? '?';
  return [`${protocol} ${args.value('--port', 'FromPort') ?? ''} from ${from}`.replace(/ {2}/, ' ')];
}

const instanceIds = option('--instance-ids', 'InstanceIds');
const groupIds = (args: Parameters<OperationEntry['targets']>[0]) => args.values('--group-id', 'GroupId');

export const EC2_OPERATIONS: OperationEntry[] = [
  { service: 'ec2', operations: ['terminate-instances'], action: 'terminate', resource_type: 'instance', targets: instanceIds, lookup: instances },
  { service: 'ec2', operations: ['stop-instances'], action: 'stop', resource_type: 'instance', targets: instanceIds, lookup: instances },
  { service: 'ec2', operations: ['reboot-instances'], action: 'reboot', resource_type: 'instance', targets: instanceIds, lookup: instances },
  { service: 'ec2', operations: ['modify-instance-attribute'], action: 'modify', resource_type: 'instance', targets: option('--instance-id', 'InstanceId'), lookup: instances },
  { service: 'ec2', operations: ['delete-volume'], action: 'delete', resource_type: 'volume', targets: option('--volume-id', 'VolumeId'), lookup: volumes },
  { service: 'ec2', operations: ['delete-snapshot'], action: 'delete', resource_type: 'snapshot', targets: option('--snapshot-id', 'SnapshotId'), lookup: snapshots },
  { service: 'ec2', operations: ['delete-security-group'], action: 'delete', resource_type: 'security-group', targets: groupIds, lookup: securityGroups },
  {
    service: 'ec2',
    operations: ['revoke-security-group-ingress'],
    action: 'revoke',
    resource_type: 'security-group',
    targets: groupIds,
    lookup: securityGroups,
    fromArgs: (args) => ({ revoking: revoked(args) }),
  },
];
