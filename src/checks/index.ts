import { mxCheck } from './mx.js';
import { dkimCheck } from './dkim.js';
import { daneCheck } from './dane.js';
import { dmarcCheck } from './dmarc.js';
import { dnssecCheck } from './dnssec.js';
import { dnsblCheck } from './dnsbl.js';
import { ptrCheck } from './ptr.js';
import { spfCheck } from './spf.js';
import type { Check } from './types.js';

/**
 * The ordered registry of checks. Order is the order of findings in reports; dependencies
 * are declared on each check. Later checks plug in here.
 */
export const ALL_CHECKS: readonly Check[] = [
  mxCheck as Check,
  spfCheck as Check,
  dmarcCheck as Check,
  dkimCheck as Check,
  dnssecCheck as Check,
  daneCheck as Check,
  ptrCheck as Check,
  dnsblCheck as Check,
];
