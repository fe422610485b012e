/**
 * The workflow's bucket (logs, run manifests, models, registry), and a bucket for its access logs.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIXES } from '../src/workflow/bucket/layout.ts';

export interface DataBucketProps {
  /** Candidates under models/candidates/ expire after this many days (promoted copies stay). */
  readonly candidateRetentionDays: number;
  /** Overwritten/deleted object versions are kept this long. */
  readonly noncurrentVersionDays: number;
  /** @default RemovalPolicy.RETAIN: models and logs outlive the stack. */
  readonly removalPolicy?: RemovalPolicy;
}

export class DataBucket extends Construct {
  /** Encrypted, versioned, private, TLS-only. */
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it to itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      removalPolicy,
      lifecycleRules: [
        { id: 'expire-old-candidates', prefix: PREFIXES.candidates, expiration: Duration.days(props.candidateRetentionDays) },
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }

  /** `s3://<bucket>`: the bucket URI the workflow code takes. */
  get uri(): string {
    return `s3://${this.bucket.bucketName}`;
  }
}
