import { bimiCheck } from './bimi.js';
import { daneCheck } from './dane.js';
import { dkimCheck } from './dkim.js';
import { dmarcCheck } from './dmarc.js';
import { dnsblCheck } from './dnsbl.js';
import { dnssecCheck } from './dnssec.js';
import { mtaStsCheck } from './mta-sts.js';
import { mxCheck } from './mx.js';
import { ptrCheck } from './ptr.js';
import { smtpCheck } from './smtp.js';
import { spfCheck } from './spf.js';
import { tlsRptCheck } from './tls-rpt.js';
import type { Check } from './types.js';

/**
 * The ordered registry of checks. Order is the order of findings in reports; dependencies
 * are declared on each check. Later checks plug in here.
 */
export const ALL_CHECKS: readonly Check[] = [
  mxCheck as Check,
  smtpCheck as Check,
  spfCheck as Check,
  dmarcCheck as Check,
  dkimCheck as Check,
  mtaStsCheck as Check,
  tlsRptCheck as Check,
  bimiCheck as Check,
  dnssecCheck as Check,
  daneCheck as Check,
  ptrCheck as Check,
  dnsblCheck as Check,
];
