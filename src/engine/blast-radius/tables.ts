/** Every operation with a blast-radius look-up, by the CLI's `service operation`. */
import { CLOUDFORMATION_OPERATIONS } from './cloudformation.js';
import { EC2_OPERATIONS } from './ec2.js';
import { IAM_OPERATIONS } from './iam.js';
import { RDS_OPERATIONS } from './rds.js';
import { S3_OPERATIONS } from './s3.js';
import type { OperationEntry } from './table.js';

export const OPERATION_TABLES: readonly OperationEntry[] = [
  ...EC2_OPERATIONS,
  ...S3_OPERATIONS,
  ...IAM_OPERATIONS,
  ...RDS_OPERATIONS,
  ...CLOUDFORMATION_OPERATIONS,
];
