/**
 * GPU training on AWS Batch: an EC2 compute environment of g4dn/g5 instances on the ECS GPU AMI
 * that scales to 0 vCPU when idle (Spot optional), a job queue, and a job definition running the
 * training image (docker/train/Dockerfile, built by `cdk deploy`, not by synth) with 1 GPU.
 */
import { type Duration, Size, Stack } from 'aws-cdk-lib';
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

/**
 * The interface endpoints the training instances need with no route to the internet, by
 * construct id: image pull (ECR api and dkr; the layers come from S3 through the gateway
 * endpoint), the ECS agent that Batch runs jobs through, and the job's CloudWatch Logs stream.
 */
export const TRAINING_INTERFACE_ENDPOINTS = {
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
  EcsAgent: ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
  EcsTelemetry: ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
} as const;

export class TrainingJob extends Construct {
  readonly vpc: ec2.Vpc;
  /** The instances' group: HTTPS out only. */
  readonly securityGroup: ec2.SecurityGroup;
  /** IMDSv2 required on every instance. */
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly computeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  /** The GPU container (1 GPU), running the training image. */
  readonly container: batch.EcsEc2ContainerDefinition;
  readonly jobRole: iam.Role;

  constructor(scope: Construct, id: string, props: TrainingJobProps) {
    super(scope, id);
    // Private isolated subnets: no internet gateway, no NAT, no public IPs, no route out of the
    // VPC. The job reaches only what it needs, through VPC endpoints: S3 (gateway, free) for the
    // data, the models and the image layers; ECR api/dkr to pull the training image; the three ECS
    // endpoints the Batch instances' ECS agent registers and reports through; CloudWatch Logs for
    // the job's log stream. Chosen over "private subnets + NAT, HTTPS only": a NAT gateway still
    // lets the job reach any HTTPS host (logs of user behaviour could leave), while endpoints
    // name each destination. Cost: 6 interface endpoints × 2 AZs, about $0.12/h ($88/month) in
    // most regions, against about $33/month + data for a NAT gateway.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'training', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH }),
          ),
        },
      },
    });
    // HTTPS out only; with no route out of the VPC, that is the endpoints and S3's gateway.
    // (Security groups do not filter the VPC's DNS resolver or the metadata service.)
    this.securityGroup = new ec2.SecurityGroup(this, 'ComputeSecurityGroup', {
      vpc: this.vpc,
      description: 'wdp GPU training instances: HTTPS to the VPC endpoints only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the VPC endpoints and the S3 gateway endpoint');
    for (const [id, service] of Object.entries(TRAINING_INTERFACE_ENDPOINTS)) {
      // Each endpoint admits HTTPS from the training instances alone, not from the whole VPC.
      const endpoint = this.vpc.addInterfaceEndpoint(id, {
        service,
        privateDnsEnabled: true,
        open: false,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      });
      endpoint.connections.allowDefaultPortFrom(this.securityGroup, 'HTTPS from the wdp training instances');
    }

    // IMDSv2 only (session tokens), and a hop limit of 1 so that the job's bridge-networked
    // container cannot reach the instance role at all: the job uses its own task role
    // (container credentials), and the ECS agent runs on the host network.
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
    });

    this.computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuCompute', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      launchTemplate: this.launchTemplate,
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
      // The SDK's region, so that it never looks for one elsewhere (the container cannot reach the
      // instance metadata service, see the launch template) and S3 calls use the regional endpoint
      // that the gateway endpoint serves.
      environment: { AWS_REGION: Stack.of(this).region },
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
        // Reason.SPOT_INSTANCE_RECLAIMED is `onStatusReason: 'Host EC2*'`: it already matches every
        // lost host ("Host EC2 (instance i-…) terminated."), Spot or not, so it is listed once.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
        // Our own failures (bad data, divergence) are not retried: the next night retries them.
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      parameters: { manifestUri: 'set-by-the-state-machine' },
    });
  }
}
