import { scoreBand } from '../../report/grade.js';

/**
 * The SVG badge of a domain's score (`/badge/<domain>.svg`), flat, in the style README
 * badges have: a grey label and a coloured value. Pure; every text is XML-escaped (the
 * domain only appears in the accessible title).
 */
const COLORS = { good: '#2e7d32', fair: '#b26a00', poor: '#c62828', unknown: '#757575' } as const;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Approximate width of text in 11px Verdana (what the badge is drawn in). */
function width(text: string): number {
  return (
    Math.round(
      [...text].reduce((w, c) => w + (/[ilj.,:;!|']/.test(c) ? 3.5 : /[mwMW]/.test(c) ? 10 : 7), 0),
    ) + 10
  );
}

export function badgeSvg(domain: string, score: number | null, checked: boolean): string {
  const label = 'mxdoctor';
  const value = !checked ? 'not checked' : score === null ? 'not scored' : `${score}/100`;
  const color = COLORS[checked ? scoreBand(score) : 'unknown'];
  const lw = width(label);
  const vw = width(value);
  const title = escapeXml(`mxdoctor score of ${domain}: ${value}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lw + vw}" height="20" role="img" aria-label="${title}"><title>${title}</title><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${color}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="${lw / 2}" y="14">${escapeXml(label)}</text><text x="${lw + vw / 2}" y="14">${escapeXml(value)}</text></g></svg>`;
}
