/**
 * GPU training on AWS Batch: an EC2 compute environment of g4dn/g5 instances on the ECS GPU AMI
 * that scales to 0 vCPU when idle (Spot optional), a job queue, and a job definition running the
 * training image (docker/train/Dockerfile, built by `cdk deploy`, not by synth) with 1 GPU.
 */
import { type Duration, Size } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { Construct } from 'constructs';
import { grantBucketAccess, ROLE_ACCESS } from './bucket-access.ts';
import { REPO_ROOT, TRAIN_DOCKERFILE } from './paths.ts';

export interface TrainingJobProps {
  readonly bucket: s3.IBucket;
  /** e.g. ['g4dn.xlarge', 'g5.xlarge'] */
  readonly instanceTypes: readonly string[];
  readonly spot: boolean;
  readonly maxvCpus: number;
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly timeout: Duration;
  /** Attempts on host/Spot failures. */
  readonly attempts: number;
}

/** Files the image build needs; everything else stays out of the staged asset. */
export const TRAIN_IMAGE_EXCLUDE = [
  'node_modules',
  '.git',
  'cdk.out',
  '.wdp',
  'test',
  'docs',
  'bench-results',
  'tmp',
  '*.log',
  'lambdas',
  'cdk',
  'examples',
];

export class TrainingJob extends Construct {
  readonly vpc: ec2.Vpc;
  readonly computeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  /** The GPU container (1 GPU), running the training image. */
  readonly container: batch.EcsEc2ContainerDefinition;
  readonly jobRole: iam.Role;

  constructor(scope: Construct, id: string, props: TrainingJobProps) {
    super(scope, id);
    // Public subnets only: no NAT gateway to pay for while the environment sits at 0 instances.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH }),
          ),
        },
      },
    });

    this.computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuCompute', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceTypes: props.instanceTypes.map((t) => new ec2.InstanceType(t)),
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA }],
      minvCpus: 0,
      maxvCpus: props.maxvCpus,
      spot: props.spot,
      ...(props.spot ? { allocationStrategy: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED } : {}),
    });
    this.jobQueue = new batch.JobQueue(this, 'Queue', { computeEnvironments: [{ computeEnvironment: this.computeEnvironment, order: 1 }] });

    this.jobRole = new iam.Role(this, 'JobRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    grantBucketAccess(props.bucket, this.jobRole, ROLE_ACCESS.training);

    this.container = new batch.EcsEc2ContainerDefinition(this, 'TrainContainer', {
      // Staged at synth, built and pushed at deploy: synth needs no Docker.
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: TRAIN_DOCKERFILE,
        exclude: TRAIN_IMAGE_EXCLUDE,
        platform: Platform.LINUX_AMD64,
      }),
      gpu: 1,
      cpu: props.vcpus,
      memory: Size.mebibytes(props.memoryMiB),
      // The same entrypoint as `wdp train`, reading the ingest manifest (a Batch parameter).
      command: ['train', '--manifest', 'Ref::manifestUri'],
      jobRole: this.jobRole,
      logging: ecs.LogDriver.awsLogs({
        streamPrefix: 'wdp-train',
        logGroup: new logs.LogGroup(this, 'TrainLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      }),
    });
    this.jobDefinition = new batch.EcsJobDefinition(this, 'TrainJob', {
      container: this.container,
      timeout: props.timeout,
      retryAttempts: props.attempts,
      retryStrategies: [
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom({ onStatusReason: 'Host EC2*' })),
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
        // Our own failures (bad data, divergence) are not retried: the next night retries them.
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      parameters: { manifestUri: 'set-by-the-state-machine' },
    });
  }
}
