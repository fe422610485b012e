/**
 * The CDK app (`npx cdk synth|deploy`, see cdk.json): one WdpStack with settings from the context,
 * checked by cdk-nag's AwsSolutions rules (a v3 validation plugin: synth fails on any finding that
 * is not acknowledged with a reason in cdk/nag.ts; cdk/nag-report.ts makes the acknowledged ones
 * show in cdk.out/validation-report.json, and synth ends with a summary of that report).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ReportedNagPack, validationSummary } from './nag-report.ts';
import { settingsFromContext } from './settings.ts';
import { WdpStack } from './wdp-stack.ts';

export interface CreateWdpAppOptions {
  /** Extra context (tests, the local runner). */
  readonly context?: Record<string, unknown>;
  /** Skip esbuild bundling and asset staging: for reading the template only. @default false */
  readonly templateOnly?: boolean;
  /** Where synth writes. @default the CDK CLI's outdir */
  readonly outdir?: string;
  /** @default 'Wdp' (or context `stackName`) */
  readonly stackName?: string;
  /** Run the cdk-nag AwsSolutions checks at synth. @default true */
  readonly nag?: boolean;
}

export function createWdpApp(options: CreateWdpAppOptions = {}): { app: App; stack: WdpStack } {
  const context: Record<string, unknown> = { ...options.context };
  if (options.templateOnly) {
    context['aws:cdk:bundling-stacks'] = [];
    context['aws:cdk:disable-asset-staging'] = true;
  }
  const app = new App({ context, ...(options.outdir ? { outdir: options.outdir } : {}) });
  const settings = settingsFromContext((k) => app.node.tryGetContext(k));
  const stackName = options.stackName ?? (app.node.tryGetContext('stackName') as string | undefined) ?? 'Wdp';
  const stack = new WdpStack(app, stackName, {
    settings,
    description: 'wdp: Wide & Deep recommender — nightly GPU retraining, validation, promotion and scoring',
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new ReportedNagPack(new AwsSolutionsChecks(app, { verbose: true })));
  return { app, stack };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  // `npx cdk synth` runs quiet (cdk.json): what it prints instead of the template is what the checks found.
  const assembly = createWdpApp().app.synth();
  const reportPath = join(assembly.directory, 'validation-report.json');
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Parameters<typeof validationSummary>[0];
  process.stderr.write(`${validationSummary(report, relative(process.cwd(), reportPath))}\n`);
}
