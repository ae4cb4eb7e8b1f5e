/**
 * The outcome of a query. Wire rcodes as named by RFC 1035/6895, plus TIMEOUT (no resolver
 * answered in time) and NETWORK_ERROR (no resolver could be reached or the answer was
 * unparseable) — both mean "could not determine", never "no record". OTHER is any other
 * wire rcode, or a name that could not be asked at all. Part of the report's stable form
 * (the DNS log's `rcode`), so it lives here, free of zod, for the DNS client to share.
 */
export const DNS_RCODES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'OTHER',
  'TIMEOUT',
  'NETWORK_ERROR',
] as const;
