import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';

// Request bodies that carry a report file: multipart/form-data (a `file` part
// and the `type` / `connector` fields) or the file itself as text/csv or
// application/xml. Only the import route accepts them, and each is read with
// its own size limit (LIMITS.reconciliationFileBytesMax), never buffered beyond it.

export const UPLOAD_ROUTE = '/v1/reconciliations';
export const UPLOAD_CONTENT_TYPES = [
  'multipart/form-data',
  'text/csv',
  'application/xml',
  'text/xml',
];

export interface UploadBody {
  type?: string;
  connector?: string;
  file?: { filename: string | null; content: string };
}

const MULTIPART_FIELDS_MAX = 10;
const MULTIPART_FIELD_BYTES_MAX = 1024;
/** Bytes of an over-limit body read and discarded before the connection is cut. */
const DRAIN_BYTES_MAX = 2 * LIMITS.reconciliationFileBytesMax;

function tooLarge(): ApiError {
  return new ApiError(
    'request_too_large',
    `The uploaded file is larger than ${LIMITS.reconciliationFileBytesMax} bytes (${LIMITS.reconciliationFileBytesMax / 1024 / 1024} MiB).`,
    { param: 'file' },
  );
}

/** The file's bytes as text; a report that is not UTF-8 is refused, not guessed at. */
function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError('reconciliation_file_invalid', 'The file is not UTF-8 text.', {
      param: 'file',
    });
  }
}

/**
 * Rejects once the client has finished sending (discarding the rest, up to
 * DRAIN_BYTES_MAX), so it reads our 413 instead of a connection reset.
 */
function drainThenReject(payload: Readable, error: unknown, reject: (e: unknown) => void): void {
  if (payload.readableEnded) {
    reject(error);
    return;
  }
  let drained = 0;
  payload.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES_MAX) payload.destroy();
  });
  payload.once('end', () => reject(error));
  payload.once('close', () => reject(error));
  payload.resume();
}

function readAll(stream: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stream.off('data', onData);
      chunks.length = 0;
      drainThenReject(stream, tooLarge(), reject);
    };
    stream.on('data', onData);
    stream.on('end', () => {
      if (size <= maxBytes) resolve(Buffer.concat(chunks));
    });
    stream.on('error', reject);
  });
}

function parseMultipart(request: FastifyRequest, payload: Readable): Promise<UploadBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: {
          fileSize: LIMITS.reconciliationFileBytesMax,
          files: 1,
          fields: MULTIPART_FIELDS_MAX,
          fieldSize: MULTIPART_FIELD_BYTES_MAX,
        },
      });
    } catch (error) {
      reject(
        new ApiError('invalid_request_body', `Invalid multipart body: ${(error as Error).message}`),
      );
      return;
    }
    const body: UploadBody = {};
    let pending: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      payload.unpipe(parser);
      drainThenReject(payload, error, reject);
    };
    parser.on('field', (name, value) => {
      if (name === 'type' || name === 'connector') body[name] = value;
      else
        fail(
          new ApiError('parameter_unknown', `Received unknown parameter: ${name}`, { param: name }),
        );
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        fail(
          new ApiError(
            'parameter_unknown',
            `Received unknown file part: ${name}; send the report as "file".`,
            { param: name },
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(tooLarge()));
      pending = new Promise((done) => stream.on('end', done)).then(() => {
        if (!stream.truncated)
          body.file = { filename: info.filename ?? null, content: utf8(Buffer.concat(chunks)) };
      });
    });
    parser.on('filesLimit', () =>
      fail(new ApiError('invalid_request_body', 'Send one file per import.')),
    );
    parser.on('error', (error: Error) =>
      fail(new ApiError('invalid_request_body', `Invalid multipart body: ${error.message}`)),
    );
    parser.on('close', () => {
      if (!failed) pending.then(() => resolve(body), reject);
    });
    payload.pipe(parser);
  });
}

/** Fastify content-type parser body for report uploads. */
export async function parseUpload(request: FastifyRequest, payload: Readable): Promise<UploadBody> {
  if (request.routeOptions.url !== UPLOAD_ROUTE || request.method !== 'POST') {
    payload.resume();
    throw new ApiError(
      'unsupported_content_type',
      `Unsupported Content-Type ${request.headers['content-type'] ?? ''}: only POST ${UPLOAD_ROUTE} accepts files; send application/x-www-form-urlencoded or application/json.`,
    );
  }
  const declared = Number(request.headers['content-length']);
  const overhead = 64 * 1024; // multipart boundaries and the small fields
  if (declared > LIMITS.reconciliationFileBytesMax + overhead) {
    return new Promise((_resolve, reject) => drainThenReject(payload, tooLarge(), reject));
  }
  if ((request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data')) {
    return parseMultipart(request, payload);
  }
  const bytes = await readAll(payload, LIMITS.reconciliationFileBytesMax);
  return { file: { filename: null, content: utf8(bytes) } };
}
