import type { CheckOptions } from './model.js';

/**
 * The options of a check that asks for nothing special. Apart from the report model, which
 * builds its zod schemas on import, so that the command line can fill in options before it
 * loads zod.
 */
export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  verify: [],
  dkimSelectors: [],
  smtp: true,
  greylistRetryMs: 0,
};
