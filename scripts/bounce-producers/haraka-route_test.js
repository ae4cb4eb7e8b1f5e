/* global exports, OK */
// mxdoctor bounce producers: route the test domains to the fake remote on loopback
// (sender.test too, so Haraka's bounces reach the remote's catcher).
const ROUTES = {
  'remote.test': '127.0.0.26',
  'connect-blocked.test': '127.0.0.27',
  'greet-421.test': '127.0.0.28',
  'silent.test': '127.0.0.29',
  'small.test': '127.0.0.30',
  'refused.test': '127.0.0.31',
  'sender.test': '127.0.0.26',
};
exports.hook_get_mx = function (next, hmail, domain) {
  const ip = ROUTES[String(domain).toLowerCase()];
  if (!ip) return next();
  next(OK, { priority: 0, exchange: ip, port: 2525 });
};
