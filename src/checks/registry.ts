import { bimiCheck } from '../bimi/check.js';
import { caaCheck } from '../caa/check.js';
import { daneCheck } from '../dane/check.js';
import { dkimCheck } from '../dkim/check.js';
import { dmarcCheck } from '../dmarc/check.js';
import { dnsblCheck } from '../dnsbl/check.js';
import { dnssecCheck } from '../dnssec/check.js';
import { mtaStsCheck } from '../mta-sts/check.js';
import { mxCheck } from '../mx/check.js';
import { ptrCheck } from '../ptr/check.js';
import { smtpCheck } from '../smtp/check.js';
import { spfCheck } from '../spf/check.js';
import { submissionCheck } from '../submission/check.js';
import { deepTlsCheck } from '../tls/deep/check.js';
import { tlsRptCheck } from '../tls-rpt/check.js';
import type { Check } from './types.js';

/**
 * The ordered registry of checks. Order is the order of findings in reports; dependencies
 * are declared on each check. Later checks plug in here.
 */
export const ALL_CHECKS: readonly Check[] = [
  mxCheck,
  smtpCheck,
  deepTlsCheck,
  submissionCheck,
  spfCheck,
  dmarcCheck,
  dkimCheck,
  mtaStsCheck,
  tlsRptCheck,
  bimiCheck,
  dnssecCheck,
  daneCheck,
  caaCheck,
  ptrCheck,
  dnsblCheck,
];
