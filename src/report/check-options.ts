/**
 * The options of a check that asks for nothing special. Apart from the report model, which
 * builds its zod schemas on import, so that the command line can fill in options before it
 * loads zod; the model holds them to its CheckOptions type (DEFAULT_CHECK_OPTIONS there).
 */
export const DEFAULT_CHECK_OPTIONS = {
  verify: [] as string[],
  dkimSelectors: [] as string[],
  smtp: true,
  greylistRetryMs: 0,
};
