/**
 * The version of a diagnosis's JSON shape, which model.ts describes: never rename or remove a
 * field without bumping it. Apart from the description, which builds zod schemas, so that the
 * parser, which stamps it on every diagnosis, loads neither zod nor the schemas (with the
 * configuration's declarations, a third of the CPU of a one-message run).
 */
export const BOUNCE_SCHEMA_VERSION = 1;
