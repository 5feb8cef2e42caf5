import { sha256Hex } from '../../lib/crypto.ts';
import type { DisputeEvidenceOutcome, DisputeEvidenceRequest } from '../types.ts';
import { AdyenCallError } from './http.ts';
import type { AdyenFailure } from './transformers.ts';

// Evidence for Adyen's Disputes API (v30, "Defend Disputes API"): pure
// mapping for the connector's three calls, in Adyen's documented order:
//   1. POST /retrieveApplicableDefenseReasons {disputePspReference, merchantAccountCode}
//      → {defenseReasons: [{defenseReasonCode, defenseDocumentTypes: [{defenseDocumentTypeCode,
//         requirementLevel, available}], satisfied}], disputeServiceResult}
//   2. POST /supplyDefenseDocument {disputePspReference, merchantAccountCode,
//      defenseDocuments: [{content (base64), contentType, defenseDocumentTypeCode}]}
//   3. POST /defendDispute {disputePspReference, merchantAccountCode, defenseReasonCode}
//   (4. POST /deleteDisputeDefenseDocument {disputePspReference, merchantAccountCode,
//       defenseDocumentType}, only to take the document back when Adyen refused step 3)
// Each answers {disputeServiceResult: {success, errorMessage?}}.
//
// Stripe's evidence is text and file ids; Adyen takes documents (PDF, JPEG,
// TIFF) per defense reason. Payrail sends the text evidence as one PDF, as
// Adyen's generic `AlternativeDefenseMaterial` document, under a defense
// reason that offers it; a dispute with no such reason needs specific scheme
// documents and is refused before anything is uploaded (respond in the
// Customer Area).

/** The generic document type Adyen documents for accounts that have it enabled. */
export const ADYEN_GENERIC_DEFENSE_DOCUMENT = 'AlternativeDefenseMaterial';

export interface AdyenDisputeServiceResult {
  success?: boolean;
  errorMessage?: string;
}

export interface AdyenDefenseReasonsResponse {
  defenseReasons?: Array<{
    defenseReasonCode?: string;
    defenseDocumentTypes?: Array<{ defenseDocumentTypeCode?: string; requirementLevel?: string }>;
    satisfied?: boolean;
  }>;
  disputeServiceResult?: AdyenDisputeServiceResult;
}

export interface AdyenDefenseChoice {
  defenseReasonCode: string;
  defenseDocumentTypeCode: string;
}

/**
 * The first defense reason that takes the generic document, and that type;
 * null when none does. Text evidence is never filed as a specific scheme
 * document (a proof of delivery, say): Adyen would take a PDF that is not one.
 */
export function chooseAdyenDefense(
  response: AdyenDefenseReasonsResponse,
): AdyenDefenseChoice | null {
  for (const reason of response.defenseReasons ?? []) {
    const generic = reason.defenseDocumentTypes?.some(
      (d) => d.defenseDocumentTypeCode === ADYEN_GENERIC_DEFENSE_DOCUMENT,
    );
    if (generic && typeof reason.defenseReasonCode === 'string') {
      return {
        defenseReasonCode: reason.defenseReasonCode,
        defenseDocumentTypeCode: ADYEN_GENERIC_DEFENSE_DOCUMENT,
      };
    }
  }
  return null;
}

/** Adyen's longest Idempotency-Key (docs.adyen.com/development-resources/api-idempotency). */
export const ADYEN_IDEMPOTENCY_KEY_LENGTH_MAX = 64;

/**
 * The Idempotency-Key of one step of a submission: `<reference>-<step>`, or,
 * when that is longer than Adyen takes, its SHA-256 in hex (64 characters).
 * Either way the same reference and step always give the same key, so a
 * retry is answered from Adyen's store, and the steps never share a key (keys
 * are unique per company account, across endpoints).
 */
export function adyenStepKey(reference: string, step: string): string {
  const key = `${reference}-${step}`;
  return key.length <= ADYEN_IDEMPOTENCY_KEY_LENGTH_MAX ? key : sha256Hex(key);
}

interface AdyenDisputeIds {
  disputePspReference: string;
  merchantAccountCode: string;
}

/**
 * The Disputes API calls a submission makes, bound by the connector to the
 * library with the Idempotency-Key and the deadline; each throws
 * AdyenCallError for an HTTP or network failure.
 */
export interface AdyenDisputeCalls {
  reasons(body: AdyenDisputeIds, idempotencyKey: string): Promise<unknown>;
  supply(
    body: AdyenDisputeIds & {
      defenseDocuments: Array<{
        content: string;
        contentType: string;
        defenseDocumentTypeCode: string;
      }>;
    },
    idempotencyKey: string,
  ): Promise<unknown>;
  defend(
    body: AdyenDisputeIds & { defenseReasonCode: string },
    idempotencyKey: string,
  ): Promise<unknown>;
  deleteDocument(
    body: AdyenDisputeIds & { defenseDocumentType: string },
    idempotencyKey: string,
  ): Promise<unknown>;
}

const resultOf = (answer: unknown) =>
  (answer as { disputeServiceResult?: AdyenDisputeServiceResult } | null)?.disputeServiceResult;

/**
 * Defends the dispute with the evidence: the applicable defense reasons, the
 * evidence as one PDF document, then defendDispute. Once the document is
 * uploaded, a refusal of defendDispute deletes it again, so "refused" always
 * means nothing is left at Adyen; if the document cannot be deleted, the
 * outcome is unavailable (Adyen holds it; a retry with the same reference is
 * answered from Adyen's store and uploads nothing more).
 */
export async function submitAdyenEvidence(
  request: DisputeEvidenceRequest,
  merchantAccount: string,
  calls: AdyenDisputeCalls,
): Promise<DisputeEvidenceOutcome> {
  const ids = {
    disputePspReference: request.disputeReference,
    merchantAccountCode: merchantAccount,
  };
  const key = (step: string) => adyenStepKey(request.reference, step);
  let step = 'retrieveApplicableDefenseReasons';
  let choice: AdyenDefenseChoice | null = null;
  let uploaded = false;
  try {
    const reasons = (await calls.reasons(ids, key('reasons'))) as AdyenDefenseReasonsResponse;
    const notOk = fromAdyenDisputeResult(step, reasons.disputeServiceResult);
    if (notOk) return notOk;
    choice = chooseAdyenDefense(reasons);
    if (!choice) {
      return {
        status: 'refused',
        code: 'adyen_no_defense_reason',
        message: `Adyen offers no defense reason for this dispute that takes a generic document (${ADYEN_GENERIC_DEFENSE_DOCUMENT}): it needs specific documents, defend it in the Customer Area`,
        param: null,
      };
    }
    step = 'supplyDefenseDocument';
    const document = {
      content: renderEvidencePdf(request.disputeReference, request.evidence).toString('base64'),
      contentType: 'application/pdf',
      defenseDocumentTypeCode: choice.defenseDocumentTypeCode,
    };
    const supplied = await calls.supply({ ...ids, defenseDocuments: [document] }, key('document'));
    const notSupplied = fromAdyenDisputeResult(step, resultOf(supplied));
    if (notSupplied) return notSupplied;
    uploaded = true;
    step = 'defendDispute';
    const defended = await calls.defend(
      { ...ids, defenseReasonCode: choice.defenseReasonCode },
      key('defend'),
    );
    const refusal = fromAdyenDisputeResult(step, resultOf(defended));
    if (!refusal) return { status: 'submitted' };
    return withdrawDocument({ calls, ids, choice, key, refusal });
  } catch (error) {
    const outcome =
      error instanceof AdyenCallError
        ? fromAdyenEvidenceFailure(step, error.failure)
        : { status: 'unavailable' as const, message: `adyen ${step}: ${(error as Error).message}` };
    if (uploaded && choice && outcome.status === 'refused') {
      return withdrawDocument({ calls, ids, choice, key, refusal: outcome });
    }
    return outcome;
  }
}

/** After defendDispute refused: deletes the uploaded document; refused only once it is gone. */
async function withdrawDocument(input: {
  calls: AdyenDisputeCalls;
  ids: AdyenDisputeIds;
  choice: AdyenDefenseChoice;
  key: (step: string) => string;
  refusal: AdyenRefusal;
}): Promise<DisputeEvidenceOutcome> {
  const { refusal } = input;
  let why: string;
  try {
    const deleted = await input.calls.deleteDocument(
      { ...input.ids, defenseDocumentType: input.choice.defenseDocumentTypeCode },
      input.key('withdraw'),
    );
    const notDeleted = fromAdyenDisputeResult('deleteDisputeDefenseDocument', resultOf(deleted));
    if (!notDeleted) {
      return { ...refusal, message: `${refusal.message} (the document supplied was deleted)` };
    }
    why = notDeleted.message;
  } catch (error) {
    why =
      error instanceof AdyenCallError
        ? JSON.stringify(error.failure)
        : (error as Error).message || 'no answer';
  }
  return {
    status: 'unavailable',
    message: `adyen refused defendDispute (${refusal.message}) after the evidence document was supplied, and deleting that document failed (${why}): Adyen holds the document, the dispute is not defended`,
  };
}

type AdyenRefusal = Extract<DisputeEvidenceOutcome, { status: 'refused' }>;

/** An answer whose disputeServiceResult says no: refused, with Adyen's message. */
export function fromAdyenDisputeResult(
  step: string,
  result: AdyenDisputeServiceResult | undefined,
): AdyenRefusal | null {
  if (result?.success === true) return null;
  return {
    status: 'refused',
    code: `adyen_${step}_failed`,
    message: result?.errorMessage ?? `Adyen ${step} did not succeed`,
    param: null,
  };
}

/**
 * 4xx answers that say nothing about the evidence: 401/403 are our API key or
 * its roles (configuration), 409 a concurrent request under the same
 * Idempotency-Key, 429 a rate limit. The evidence may be fine: unavailable.
 */
export const ADYEN_EVIDENCE_RETRYABLE_4XX: ReadonlySet<number> = new Set([401, 403, 409, 429]);

/** A failed call: a 4xx (not ADYEN_EVIDENCE_RETRYABLE_4XX) is Adyen refusing; anything else may be retried. */
export function fromAdyenEvidenceFailure(
  step: string,
  failure: AdyenFailure,
): DisputeEvidenceOutcome {
  if (failure.kind !== 'http') {
    return { status: 'unavailable', message: `adyen ${step}: ${failure.message}` };
  }
  const message = failure.error?.message ?? `Adyen answered HTTP ${failure.httpStatus}`;
  const retryable = ADYEN_EVIDENCE_RETRYABLE_4XX.has(failure.httpStatus);
  if (failure.httpStatus >= 400 && failure.httpStatus < 500 && !retryable) {
    return {
      status: 'refused',
      code: failure.error?.errorCode
        ? `adyen_${failure.error.errorCode}`
        : `http_${failure.httpStatus}`,
      message: `${step}: ${message}`,
      param: null,
    };
  }
  const hint =
    failure.httpStatus === 401 || failure.httpStatus === 403
      ? ' (check the connector api_key and its Disputes API role)'
      : '';
  return {
    status: 'unavailable',
    message: `adyen ${step} answered HTTP ${failure.httpStatus}: ${message}${hint}`,
  };
}

const PDF_LINE_CHARS = 95;
const PDF_LINES_PER_PAGE = 60;

/** Text as PDF-safe Latin-1 lines of at most PDF_LINE_CHARS characters. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    // Outside Latin-1 the standard Helvetica font has no glyph.
    let rest = raw.replace(/\t/g, '    ').replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
    if (rest === '') lines.push('');
    while (rest.length > 0) {
      lines.push(rest.slice(0, PDF_LINE_CHARS));
      rest = rest.slice(PDF_LINE_CHARS);
    }
  }
  return lines;
}

/**
 * The evidence as a plain-text PDF (A4, Helvetica 10 pt): a heading naming
 * the dispute, then each field's name and value. Written by hand: the format
 * needs only a catalogue, a page tree, a font and one content stream per page.
 */
export function renderEvidencePdf(
  disputeReference: string,
  evidence: Record<string, string>,
): Buffer {
  const lines = [`Dispute evidence for ${disputeReference}`, ''];
  for (const [field, value] of Object.entries(evidence)) {
    lines.push(`${field}:`, ...wrap(value), '');
  }
  const pages: string[][] = [];
  for (let i = 0; i < lines.length; i += PDF_LINES_PER_PAGE) {
    pages.push(lines.slice(i, i + PDF_LINES_PER_PAGE));
  }
  const pdfString = (line: string) => line.replace(/[\\()]/g, (c) => `\\${c}`);
  // Objects: 1 catalogue, 2 page tree, 3 font, then a page and its content per page.
  const objects: string[] = [];
  const kids = pages.map((_, i) => `${4 + i * 2} 0 R`).join(' ');
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  pages.forEach((page, i) => {
    const text = page.map((line) => `(${pdfString(line)}) Tj T*`).join('\n');
    const stream = `BT /F1 10 Tf 12 TL 50 800 Td\n${text}\nET`;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`,
    );
    objects.push(
      `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
    );
  });
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
