/**
 * Least-privilege bucket access with exact actions (no `s3:GetObject*`-style action wildcards, as
 * bucket.grantRead would add): objects under named prefixes only, plus listing keys.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';

export interface BucketAccess {
  /** Key prefixes (e.g. 'logs/') whose objects may be read (GetObject, which HeadObject needs too). */
  readonly read?: readonly string[];
  /** Key prefixes whose objects may be written (PutObject, multipart included). */
  readonly write?: readonly string[];
}

/**
 * Grants `grantee` the access described. ListBucket is on the bucket itself: without it, a
 * HeadObject on a missing key answers 403 instead of 404, and "does it exist" checks break.
 */
export function grantBucketAccess(bucket: s3.IBucket, grantee: iam.IGrantable, access: BucketAccess): void {
  const objects = (prefixes: readonly string[]) => prefixes.map((p) => bucket.arnForObjects(`${p}*`));
  const statements = [new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] })];
  if (access.read?.length) statements.push(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(access.read) }));
  if (access.write?.length)
    statements.push(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: objects(access.write) }));
  for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
}
