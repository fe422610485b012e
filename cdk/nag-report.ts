/**
 * cdk-nag as a validation plugin whose acknowledged findings reach CDK's validation report.
 *
 * cdk-nag 3 drops a finding acknowledged with `Validations.of(c).acknowledge(…)` before it
 * reports, so CDK sees a clean plugin and leaves it out of `cdk.out/validation-report.json`
 * (`"pluginReports": []`): nothing showed that the checks ran. This wrapper reports every finding
 * and lets CDK apply the same acknowledgements, which it records as suppressed, each with its reason
 * and where it was made; an unacknowledged finding still fails synth.
 */
import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';
import type { NagPack } from 'cdk-nag';

export class ReportedNagPack implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;

  constructor(private readonly pack: NagPack) {
    this.name = pack.name;
    if (pack.version !== undefined) this.version = pack.version;
    // The pack's own acknowledgement filter (a private method, read by name) is turned off: CDK's
    // suppression, which reads the same acknowledgements, takes its place.
    Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.pack.validate(context);
  }
}

interface ReportedViolation {
  readonly violatingConstructs?: readonly unknown[];
}
interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations?: readonly ReportedViolation[];
  readonly suppressedViolations?: readonly ReportedViolation[];
}

/**
 * One line per plugin from `validation-report.json`, printed at the end of `npx cdk synth` in
 * place of the template: e.g. `AwsSolutions: success, 0 open findings, 62 acknowledged with a
 * reason (on 41 resources)`. A plugin the report leaves out found nothing at all.
 */
export function validationSummary(report: { readonly pluginReports: readonly PluginReport[] }, reportPath: string): string {
  const resources = (vs: readonly ReportedViolation[] | undefined) =>
    new Set(
      (vs ?? []).flatMap((v) => v.violatingConstructs ?? []).map((c) => JSON.stringify((c as { constructPath?: string }).constructPath)),
    ).size;
  const lines = report.pluginReports.map((p) => {
    const open = p.violations?.length ?? 0;
    const acknowledged = p.suppressedViolations?.length ?? 0;
    return `  ${p.pluginName}: ${p.conclusion}, ${open} open finding${open === 1 ? '' : 's'}, ${acknowledged} acknowledged with a reason (on ${resources(p.suppressedViolations)} resources)`;
  });
  return [`validation (${reportPath}):`, ...(lines.length > 0 ? lines : ['  no plugin reported anything'])].join('\n');
}
