import type { RequestHandler } from 'express';
import type { Metrics } from '../metrics/metrics.js';

/** Counts HTTP requests by route and status and times them, in the process's metrics. */
export function httpMetrics(metrics: Metrics): RequestHandler {
  const requests = metrics.counter({
    name: 'mxdoctor_http_requests_total',
    help: 'HTTP requests answered, by route and status.',
    labelNames: ['method', 'route', 'status'],
  });
  const duration = metrics.histogram({
    name: 'mxdoctor_http_request_duration_seconds',
    help: 'HTTP response time.',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  return (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : 'other';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  };
}
