import type { ElbApiError } from './api-error';

/** The namespace every ELBv2 (2015-12-01) response carries. */
export const ELB_XML_NAMESPACE = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** Members the ELBv2 model declares as maps: written as entry/key/value, not as nested elements. */
const MAP_MEMBERS = new Set(['AuthenticationRequestExtraParams']);

/** Escapes text for an XML element body. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c] ?? ''};`);
}

/**
 * One element in AWS Query's XML: scalars as text, arrays as `<member>` children, structures member by
 * member in their key order. Undefined and null members are left out, as AWS leaves out unset members.
 */
export function toXml(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((item) => toXml('member', item)).join('')}</${name}>`;
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (MAP_MEMBERS.has(name)) {
      const body = entries
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${escapeXml(String(v))}</value></entry>`)
        .join('');
      return `<${name}>${body}</${name}>`;
    }
    return `<${name}>${entries.map(([k, v]) => toXml(k, v)).join('')}</${name}>`;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return `<${name}>${escapeXml(String(value))}</${name}>`;
  }
  return '';
}

/** A successful Query response: `<XResponse><XResult>…</XResult><ResponseMetadata><RequestId>…`. */
export function resultXml(action: string, result: Record<string, unknown>, requestId: string): string {
  const body = Object.entries(result)
    .map(([k, v]) => toXml(k, v))
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${ELB_XML_NAMESPACE}">` +
    `<${action}Result>${body}</${action}Result>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

/** AWS Query's error document: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`. */
export function errorXml(error: ElbApiError, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${ELB_XML_NAMESPACE}">` +
    `<Error><Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId>` +
    `</ErrorResponse>`
  );
}
