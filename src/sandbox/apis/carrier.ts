import { Router, asObject, idempotencyKey, idempotentReply, invalid, optionalEnum, optionalNumber, optionalString, requiredString } from '../http';
import { LABEL_SERVICES, type Address, type SandboxState } from '../state';

/**
 * Carrier API, mounted at `/carrier/v1`: shipping labels (idempotent per
 * `Idempotency-Key`), voiding them (the compensation), and label documents.
 * The permanent failure mode refuses every new label.
 */
export function carrierRoutes(state: SandboxState): Router {
  return new Router()
    .on('POST', '/labels', async (req) => {
      const key = idempotencyKey(req, false);
      const body = asObject(await req.json());
      const { label, created } = state.createLabel(key, {
        order_id: requiredString(body, 'order_id'),
        ship_to: address(body.ship_to, 'ship_to'),
        service: optionalEnum(body, 'service', LABEL_SERVICES),
        weight_kg: optionalNumber(body, 'weight_kg', { exclusiveMin: 0, max: 70 }),
      });
      return idempotentReply(label, created, 201);
    })
    .on('GET', '/labels/:id', (req) => ({ body: state.label(req.params.id) }))
    .on('POST', '/labels/:id/void', (req) => {
      const { label, changed } = state.voidLabel(req.params.id);
      return idempotentReply(label, changed);
    })
    .on(
      'GET',
      '/labels/:id/document',
      (req) => {
        const label = state.label(req.params.id);
        return { raw: { contentType: 'application/pdf', data: labelPdf(`${label.carrier} ${label.service} ${label.tracking_number} ${label.status}`) } };
      },
      { open: true },
    );
}

/** A shipping address; `region` is optional, `country` an ISO 3166 alpha-2 code. */
function address(value: unknown, field: string): Address {
  const obj = asObject(value, field);
  const path = `${field}.`;
  const country = requiredString(obj, 'country', path);
  if (!/^[A-Z]{2}$/.test(country)) throw invalid(`${path}country`, 'must be a two-letter ISO country code');
  return {
    name: requiredString(obj, 'name', path),
    line1: requiredString(obj, 'line1', path),
    city: requiredString(obj, 'city', path),
    region: optionalString(obj, 'region', path) ?? '',
    postal_code: requiredString(obj, 'postal_code', path),
    country,
  };
}

/** A minimal one-page PDF with one line of text: enough for a viewer to open. */
function labelPdf(text: string): string {
  const safe = text.replace(/[()\\]/g, '');
  const stream = `BT /F1 18 Tf 40 120 Td (${safe}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` + offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return pdf;
}
