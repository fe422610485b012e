/**
 * What `--remote` needs from the machine, said in words when the AWS SDK finds it missing. It imports
 * no SDK: cli/main.ts loads it for every command.
 *
 * What to set when the AWS SDK found no region or no credentials: its own messages ("Region is
 * missing", "Could not load credentials from any providers") name neither a variable nor a file.
 * Undefined for any other error. `reading` says what the command was doing, e.g. the stack outputs.
 */
export function awsSetupHint(e: unknown, reading?: string): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const doing = reading ? `cannot read ${reading}: ` : '';
  if (/region is missing/i.test(e.message))
    return (
      `${doing}no AWS region is set. --remote commands use the AWS SDK's standard settings: set AWS_REGION ` +
      `(e.g. AWS_REGION=eu-west-1), or AWS_PROFILE naming a profile with a region in ~/.aws/config ` +
      `(\`aws configure\` writes one), to the region the stack was deployed in.`
    );
  if (e.name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message))
    return (
      `${doing}no AWS credentials found. Set AWS_PROFILE to a profile in ~/.aws/config (\`aws configure\` or ` +
      `\`aws sso login --profile NAME\`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`
    );
  return undefined;
}
