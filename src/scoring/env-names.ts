/**
 * The scoring Lambda's environment variables, named once: the function reads them
 * (lambdas/score.ts), Promote and `wdp models promote|rollback` write them when they publish a
 * version (workflow/steps/serving-target.ts), the CDK app gives their first values
 * (cdk/scoring-service.ts). Two spellings of one name would let a writer set a variable the
 * function never reads. Constants only, so the Lambda bundle imports nothing else to name them.
 */

/** The model folder to serve; empty: the registry's champion. */
export const MODEL_URI_ENV = 'WDP_MODEL_URI';
/** The registry version WDP_MODEL_URI holds (`v3`), set with it. */
export const MODEL_VERSION_ENV = 'WDP_MODEL_VERSION';
/** The model id that version holds, set with it: the loaded model must be that one. */
export const MODEL_ID_ENV = 'WDP_MODEL_ID';
/** The workflow bucket's registry.json: the champion, and the id of a version WDP_MODEL_ID does not name. */
export const REGISTRY_URI_ENV = 'WDP_REGISTRY_URI';
