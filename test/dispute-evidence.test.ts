import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createAdyenConnector } from '../src/connectors/adyen/connector.ts';
import { fromAdyenEvidenceFailure } from '../src/connectors/adyen/disputes.ts';
import { fromPspSimEvidenceAnswer } from '../src/connectors/psp-sim/evidence.ts';
import type { PspSimHttpAnswer } from '../src/connectors/psp-sim/transformers.ts';
import { createStripeConnector } from '../src/connectors/stripe/connector.ts';
import {
  fromStripeEvidenceFailure,
  type StripeFailure,
} from '../src/connectors/stripe/transformers.ts';
import { evidenceReference } from '../src/disputes/service.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { newId } from '../src/lib/ids.ts';
import type { PspSim } from '../src/psp-sim/server.ts';
import { startAdyenServer } from './helpers/adyen-server.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { freePort } from './helpers/process.ts';
import { api, setSimMode, startSim } from './helpers/psp-sim.ts';

// Evidence submitted through Payrail reaches the processor that holds the
// dispute (here a real psp-sim, which records what it receives). A refusal
// or an outage answers an error and leaves the dispute as it was; a retry
// (same Idempotency-Key, or a new key with the same evidence after a lost
// answer) never submits twice. Runs on SQLite and PostgreSQL.

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field.
type Json = Record<string, any>;

describe('dispute evidence is forwarded to the processor (psp-sim)', () => {
  let t: TestEngine;
  let sim: PspSim;
  let dir: string;
  let conn: string;

  before(async () => {
    ({ sim, dir } = await startSim('evidence'));
    t = await startEngine({ env: { PAYRAIL_PROBE_INTERVAL_MS: '3600000' } });
    const created = await api(t, 'POST', '/v1/connectors', {
      type: 'psp_sim',
      name: 'evidence',
      base_url: sim.url,
      credentials: { api_key: 'key_evidence' },
      timeout_ms: 1000,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    conn = created.json.id;
    const routing = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [conn] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });
  after(async () => {
    await t?.close();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function submissions(): Promise<Json[]> {
    const response = await fetch(`${sim.controlUrl}/_sim/evidence`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { evidence: Json[] }).evidence;
  }

  async function control(path: string, body: Json): Promise<Json> {
    const response = await fetch(`${sim.controlUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'key_evidence', ...body }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Json;
  }

  /** A payment charged on the simulator and disputed there (notice delivered): both ids. */
  async function disputed(): Promise<{ dispute: Json; simDispute: string; simCharge: string }> {
    const pi = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(pi.status, 'succeeded');
    const charges = (await (await fetch(`${sim.controlUrl}/_sim/charges`)).json()) as Json;
    const charge = charges.charges.find((c: Json) => c.payment_reference === pi.id);
    const signed = await control(`/_sim/charges/${charge.id}/dispute`, {});
    const delivered = await fetch(`${t.url}/v1/connector_webhooks/${conn}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [signed.header]: signed.signature },
      body: signed.raw_body,
    });
    assert.equal(delivered.status, 200, await delivered.text());
    const list = await t.stripe.disputes.list({ payment_intent: pi.id });
    assert.equal(list.data[0]?.status, 'needs_response');
    return { dispute: list.data[0] as Json, simDispute: signed.notice.id, simCharge: charge.id };
  }

  function submit(disputeId: string, body: string, key: string) {
    return rawRequest(t, 'POST', `/v1/disputes/${disputeId}`, {
      body,
      headers: { 'idempotency-key': key },
    });
  }

  async function assertUnchanged(disputeId: string) {
    const now = (await t.stripe.disputes.retrieve(disputeId)) as Json;
    assert.equal(now.status, 'needs_response');
    assert.equal(now.evidence_details.submission_count, 0);
    assert.equal(now.evidence.uncategorized_text, null);
  }

  test('submitted evidence reaches the processor once; a retry with the key replays', async () => {
    const { dispute, simDispute } = await disputed();
    const before = (await submissions()).length;
    const body =
      'evidence[uncategorized_text]=shipped+and+signed+for&evidence[shipping_tracking_number]=Z123&metadata[case]=7';
    const first = await submit(dispute.id, body, 'ev-happy-1');
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.status, 'under_review');
    assert.equal(first.json.evidence_details.submission_count, 1);
    assert.equal(first.json.evidence.shipping_tracking_number, 'Z123');
    const seen = (await submissions()).slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.dispute, simDispute);
    assert.deepEqual(seen[0]?.evidence, {
      shipping_tracking_number: 'Z123',
      uncategorized_text: 'shipped and signed for',
    });
    assert.match(String(seen[0]?.reference), new RegExp(`^${dispute.id}_ev1_[0-9a-f]{24}$`));

    const again = await submit(dispute.id, body, 'ev-happy-1');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.json, first.json);
    assert.equal((await submissions()).length, before + 1, 'the replay submitted nothing');
    // Under review: more evidence is refused here, and nothing is sent.
    const late = await submit(dispute.id, 'evidence[customer_name]=x', 'ev-happy-2');
    assert.equal(late.status, 400);
    assert.equal(late.json.error.code, 'dispute_unexpected_state');
    assert.equal((await submissions()).length, before + 1);
  });

  test('staged evidence (submit=false) is not sent; submitting it later sends it', async () => {
    const { dispute, simDispute } = await disputed();
    const before = (await submissions()).length;
    const staged = await submit(
      dispute.id,
      'evidence[customer_name]=Jane&submit=false',
      'ev-stage-1',
    );
    assert.equal(staged.status, 200, JSON.stringify(staged.json));
    assert.equal(staged.json.status, 'needs_response');
    assert.equal((await submissions()).length, before);
    const sent = await submit(dispute.id, 'submit=true', 'ev-stage-2');
    assert.equal(sent.status, 200, JSON.stringify(sent.json));
    assert.equal(sent.json.status, 'under_review');
    const seen = (await submissions()).slice(before);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.evidence, { customer_name: 'Jane' });
    assert.equal(seen[0]?.dispute, simDispute);
  });

  test('processor down: 503, the dispute stays as it was; a later retry submits', async () => {
    const { dispute } = await disputed();
    const before = (await submissions()).length;
    await setSimMode(sim, { mode: 'down' });
    try {
      const body = 'evidence[uncategorized_text]=retry+me';
      const down = await submit(dispute.id, body, 'ev-down-1');
      assert.equal(down.status, 503, JSON.stringify(down.json));
      assert.equal(down.json.error.type, 'api_error');
      assert.equal(down.json.error.code, 'service_unavailable');
      assert.match(down.json.error.message, /could not be submitted.*unchanged/);
      await assertUnchanged(dispute.id);
      // The same key replays the answer; it does not call the processor again.
      await setSimMode(sim, { mode: 'up' });
      const replay = await submit(dispute.id, body, 'ev-down-1');
      assert.equal(replay.status, 503);
      assert.equal((await submissions()).length, before);
      await assertUnchanged(dispute.id);
      const retried = await submit(dispute.id, body, 'ev-down-2');
      assert.equal(retried.status, 200, JSON.stringify(retried.json));
      assert.equal(retried.json.status, 'under_review');
      assert.equal((await submissions()).length, before + 1);
    } finally {
      await setSimMode(sim, { mode: 'up' });
    }
  });

  test('answer lost after the processor took it: the retry does not submit twice', async () => {
    const { dispute } = await disputed();
    const before = (await submissions()).length;
    const body = 'evidence[uncategorized_text]=taken+once';
    await setSimMode(sim, { mode: 'timeout_after_charge' });
    try {
      const lost = await submit(dispute.id, body, 'ev-lost-1');
      assert.equal(lost.status, 503, JSON.stringify(lost.json));
      await assertUnchanged(dispute.id);
      assert.equal((await submissions()).length, before + 1, 'the processor did take it');
    } finally {
      await setSimMode(sim, { mode: 'up' });
    }
    // The processor may hold that evidence: other evidence waits (the lease), the same goes.
    const other = await submit(dispute.id, 'evidence[uncategorized_text]=other', 'ev-lost-3');
    assert.equal(other.status, 429, JSON.stringify(other.json));
    assert.equal(other.json.error.code, 'lock_timeout');
    assert.match(other.json.error.message, /not known.*same evidence/);
    assert.equal((await submissions()).length, before + 1);
    const retried = await submit(dispute.id, body, 'ev-lost-2');
    assert.equal(retried.status, 200, JSON.stringify(retried.json));
    assert.equal(retried.json.status, 'under_review');
    assert.equal(retried.json.evidence_details.submission_count, 1);
    assert.equal((await submissions()).length, before + 1, 'same reference: not submitted twice');
  });

  test('the processor refuses (dispute closed there): 400 naming evidence, nothing changes', async () => {
    const { dispute, simDispute, simCharge } = await disputed();
    // The processor decided the dispute; its notice has not arrived yet.
    await control(`/_sim/charges/${simCharge}/dispute`, { dispute: simDispute, status: 'lost' });
    const before = (await submissions()).length;
    const refused = await submit(dispute.id, 'evidence[uncategorized_text]=too+late', 'ev-no-1');
    assert.equal(refused.status, 400, JSON.stringify(refused.json));
    assert.equal(refused.json.error.param, 'evidence');
    assert.match(refused.json.error.message, /refused.*dispute_closed.*unchanged/);
    await assertUnchanged(dispute.id);
    assert.equal((await submissions()).length, before);
  });

  /** The dispute's row as stored (the claim columns are not in the API). */
  function row(disputeId: string) {
    return t.engine.database.db
      .selectFrom('disputes')
      .selectAll()
      .where('id', '=', disputeId)
      .executeTakeFirstOrThrow();
  }

  async function updatedEvents(disputeId: string): Promise<Json[]> {
    const listed = await rawRequest(t, 'GET', '/v1/events?type=charge.dispute.updated&limit=100');
    assert.equal(listed.status, 200, JSON.stringify(listed.json));
    return listed.json.data.filter((e: Json) => e.data.object.id === disputeId);
  }

  test('two submissions at once (different evidence and keys): one reaches the processor', async () => {
    const { dispute } = await disputed();
    const before = (await submissions()).length;
    // Both requests are in flight while the processor answers the first.
    await setSimMode(sim, { mode: 'slow', latency_ms: 400 });
    let answers: Awaited<ReturnType<typeof submit>>[];
    try {
      answers = await Promise.all([
        submit(dispute.id, 'evidence[uncategorized_text]=first', 'ev-race-1'),
        submit(dispute.id, 'evidence[uncategorized_text]=second', 'ev-race-2'),
      ]);
    } finally {
      await setSimMode(sim, { mode: 'up' });
    }
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 429], JSON.stringify(answers.map((a) => a.json)));
    const loser = answers.find((a) => a.status === 429);
    assert.equal(loser?.json.error.code, 'lock_timeout');
    assert.match(loser?.json.error.message, /being submitted.*another request/);
    const seen = (await submissions()).slice(before);
    assert.equal(seen.length, 1, 'exactly one processor call');
    const now = (await t.stripe.disputes.retrieve(dispute.id)) as Json;
    assert.equal(now.status, 'under_review');
    assert.equal(now.evidence_details.submission_count, 1);
    assert.equal(now.evidence.uncategorized_text, seen[0]?.evidence.uncategorized_text);
    assert.equal((await updatedEvents(dispute.id)).length, 1, 'one update event');
    const stored = await row(dispute.id);
    assert.equal(stored.submission_claim, null);
    assert.equal(stored.submission_reference, null);
    assert.equal(stored.submission_claim_expires, null);
  });

  test('evidence staged while a submission is in flight is refused, never recorded as sent', async () => {
    const { dispute } = await disputed();
    const before = (await submissions()).length;
    await setSimMode(sim, { mode: 'slow', latency_ms: 600 });
    try {
      const sending = submit(dispute.id, 'evidence[uncategorized_text]=sent', 'ev-stage-race-1');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const staged = await submit(
        dispute.id,
        'evidence[customer_name]=never+sent&submit=false',
        'ev-stage-race-2',
      );
      assert.equal(staged.status, 429, JSON.stringify(staged.json));
      assert.equal(staged.json.error.code, 'lock_timeout');
      // Metadata alone can change meanwhile.
      const meta = await submit(dispute.id, 'metadata[note]=ok', 'ev-stage-race-3');
      assert.equal(meta.status, 200, JSON.stringify(meta.json));
      const sent = await sending;
      assert.equal(sent.status, 200, JSON.stringify(sent.json));
      assert.equal(sent.json.evidence.customer_name, null);
      assert.equal(sent.json.metadata.note, 'ok');
    } finally {
      await setSimMode(sim, { mode: 'up' });
    }
    const seen = (await submissions()).slice(before);
    assert.deepEqual(
      seen.map((x) => x.evidence),
      [{ uncategorized_text: 'sent' }],
    );
    const now = (await t.stripe.disputes.retrieve(dispute.id)) as Json;
    assert.equal(now.evidence.customer_name, null);
    assert.equal(now.evidence.uncategorized_text, 'sent');
    assert.equal(now.evidence_details.submission_count, 1);
  });

  test('a claim whose process died blocks only until its lease ends', async () => {
    const { dispute } = await disputed();
    const before = (await submissions()).length;
    const claim = (expiresMs: number) =>
      t.engine.database.db
        .updateTable('disputes')
        .set({
          submission_claim: 'dead-process',
          submission_reference: `${dispute.id}_ev1_000000000000000000000000`,
          submission_claim_expires: expiresMs,
        })
        .where('id', '=', dispute.id)
        .execute();
    const body = 'evidence[uncategorized_text]=after+the+crash';
    await claim(Date.now() + 60_000);
    const blocked = await submit(dispute.id, body, 'ev-dead-1');
    assert.equal(blocked.status, 429, JSON.stringify(blocked.json));
    assert.equal(blocked.json.error.code, 'lock_timeout');
    await assertUnchanged(dispute.id);
    const closing = await rawRequest(t, 'POST', `/v1/disputes/${dispute.id}/close`, {
      headers: { 'idempotency-key': 'ev-dead-close' },
    });
    assert.equal(closing.status, 429, 'not accepted while evidence may be on its way');
    assert.equal((await submissions()).length, before);
    await claim(Date.now() - 1);
    const taken = await submit(dispute.id, body, 'ev-dead-2');
    assert.equal(taken.status, 200, JSON.stringify(taken.json));
    assert.equal(taken.json.evidence_details.submission_count, 1);
    assert.equal((await submissions()).length, before + 1);
    assert.equal((await row(dispute.id)).submission_claim, null);
  });

  test('the books verify after every flow', async () => {
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
  });
});

/** A local server that records each request and answers with `answer(path, body)`. */
async function recordingServer(
  answer: (path: string, body: string) => { status: number; body: unknown },
) {
  const seen: Array<{
    method: string;
    path: string;
    headers: http.IncomingHttpHeaders;
    body: string;
  }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const reply = answer(req.url ?? '', body);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const evidenceRequest = {
  reference: 'du_test_ev1_0123456789abcdef01234567',
  disputeReference: 'dp_1Abc',
  evidence: { uncategorized_text: 'Delivered (signed) to J. Doe', shipping_tracking_number: 'Z1' },
};
const deadline = () => AbortSignal.timeout(5000);

describe('the stripe connector submits evidence with Stripe’s update-a-dispute call', () => {
  test('POST /v1/disputes/:id form-encoded, submit=true, keyed by the reference', async () => {
    let reply: { status: number; body: unknown } = {
      status: 200,
      body: { id: 'dp_1Abc', object: 'dispute', status: 'under_review' },
    };
    const server = await recordingServer(() => reply);
    try {
      const connector = createStripeConnector({
        id: 'conn_s',
        type: 'stripe',
        baseUrl: server.url,
        credentials: { secret_key: 'sk_test_evidence' },
      });
      assert.deepEqual(await connector.submitDisputeEvidence?.(evidenceRequest, deadline()), {
        status: 'submitted',
      });
      const sent = server.seen[0];
      assert.equal(sent?.method, 'POST');
      assert.equal(sent?.path, '/v1/disputes/dp_1Abc');
      assert.equal(sent?.headers['idempotency-key'], evidenceRequest.reference);
      assert.match(String(sent?.headers['content-type']), /x-www-form-urlencoded/);
      const form = new URLSearchParams(sent?.body);
      assert.equal(form.get('evidence[uncategorized_text]'), 'Delivered (signed) to J. Doe');
      assert.equal(form.get('evidence[shipping_tracking_number]'), 'Z1');
      assert.equal(form.get('submit'), 'true');

      reply = {
        status: 400,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'evidence[receipt]',
            message: 'No such file upload',
          },
        },
      };
      assert.deepEqual(await connector.submitDisputeEvidence?.(evidenceRequest, deadline()), {
        status: 'refused',
        code: 'resource_missing',
        message: 'No such file upload',
        param: 'evidence[receipt]',
      });
      reply = { status: 500, body: { error: { type: 'api_error', message: 'boom' } } };
      const failed = await connector.submitDisputeEvidence?.(evidenceRequest, deadline());
      assert.equal(failed?.status, 'unavailable');
    } finally {
      await server.close();
    }
    const gone = createStripeConnector({
      id: 'conn_s',
      type: 'stripe',
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      credentials: { secret_key: 'sk_test_evidence' },
    });
    const unreachable = await gone.submitDisputeEvidence?.(evidenceRequest, deadline());
    assert.equal(unreachable?.status, 'unavailable');
  });
});

/** One request the local Adyen Disputes server received. */
interface AdyenSeen {
  path: string;
  key: string | undefined;
  apiKey: string | undefined;
  body: Json;
}

type AdyenAnswer = { status: number; body: Json };

/**
 * A local server for the part of Adyen's Disputes API v30 that Payrail calls,
 * behaving like Adyen where it matters here: X-API-Key auth (401), an
 * Idempotency-Key of at most 64 characters (longer: 422, nothing done), a
 * successful answer stored per key and replayed without acting again, and
 * the defense documents each dispute holds (supply adds, delete removes).
 * `defend` and `remove` script the answers to defendDispute and
 * deleteDisputeDefenseDocument.
 */
async function startAdyenDisputes(options: { apiKey: string; reasons: Json[] }) {
  const state = {
    seen: [] as AdyenSeen[],
    /** Documents held per disputePspReference. */
    documents: new Map<string, Array<{ type: string; content: string }>>(),
    defended: [] as string[],
    defend: (): AdyenAnswer => ({ status: 200, body: { disputeServiceResult: { success: true } } }),
    remove: (): AdyenAnswer => ({ status: 200, body: { disputeServiceResult: { success: true } } }),
    reasons: options.reasons,
  };
  const stored = new Map<string, AdyenAnswer>();
  const ok = { status: 200, body: { disputeServiceResult: { success: true } } };
  const error = (status: number, errorCode: string, message: string, errorType: string) => ({
    status,
    body: { status, errorCode, message, errorType },
  });

  function act(path: string, body: Json): AdyenAnswer {
    const dispute = String(body.disputePspReference);
    const held = state.documents.get(dispute) ?? [];
    if (path.endsWith('/retrieveApplicableDefenseReasons')) {
      return { status: 200, body: { defenseReasons: state.reasons, ...ok.body } };
    }
    if (path.endsWith('/supplyDefenseDocument')) {
      for (const d of body.defenseDocuments ?? []) {
        held.push({ type: d.defenseDocumentTypeCode, content: d.content });
      }
      state.documents.set(dispute, held);
      return ok;
    }
    if (path.endsWith('/defendDispute')) {
      const answer = state.defend();
      if (answer.body.disputeServiceResult?.success === true) state.defended.push(dispute);
      return answer;
    }
    if (path.endsWith('/deleteDisputeDefenseDocument')) {
      const answer = state.remove();
      if (answer.body.disputeServiceResult?.success === true) {
        state.documents.set(
          dispute,
          held.filter((d) => d.type !== body.defenseDocumentType),
        );
      }
      return answer;
    }
    return error(404, '000', 'Not found', 'validation');
  }

  function handle(req: http.IncomingMessage, raw: string): AdyenAnswer {
    const key = req.headers['idempotency-key'] as string | undefined;
    const body = JSON.parse(raw) as Json;
    const path = req.url ?? '';
    state.seen.push({ path, key, apiKey: req.headers['x-api-key'] as string | undefined, body });
    if (req.headers['x-api-key'] !== options.apiKey) {
      return error(401, '000', 'HTTP Status Response - Unauthorized', 'security');
    }
    if (key !== undefined && key.length > 64) {
      return error(422, '000', 'Idempotency-Key is longer than 64 characters', 'validation');
    }
    const replay = key ? stored.get(key) : undefined;
    if (replay) return replay;
    const answer = act(path, body);
    if (key && answer.status < 400) stored.set(key, answer);
    return answer;
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      const answer = handle(req, raw);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    ...({ url: `http://127.0.0.1:${port}` } as const),
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const GENERIC_REASONS: Json[] = [
  {
    defenseReasonCode: 'MerchandiseReceived',
    defenseDocumentTypes: [
      {
        defenseDocumentTypeCode: 'ProofOfDelivery',
        requirementLevel: 'Required',
        available: false,
      },
    ],
    satisfied: false,
  },
  {
    defenseReasonCode: 'SupplyDefenseMaterial',
    defenseDocumentTypes: [
      {
        defenseDocumentTypeCode: 'AlternativeDefenseMaterial',
        requirementLevel: 'AlternativeRequired',
        available: false,
      },
    ],
    satisfied: false,
  },
];

const DISPUTES_BASE = '/ca/services/DisputeService/v30';
const PSP_DISPUTE = '9913333333333333';

describe('the adyen connector defends with the Disputes API', () => {
  let adyen: Awaited<ReturnType<typeof startAdyenDisputes>>;
  before(async () => {
    adyen = await startAdyenDisputes({ apiKey: 'AQE_evidence', reasons: GENERIC_REASONS });
  });
  after(() => adyen?.close());

  function connector(apiKey = 'AQE_evidence') {
    return createAdyenConnector({
      id: 'conn_a',
      type: 'adyen',
      baseUrl: adyen.url,
      credentials: { api_key: apiKey, merchant_account: 'PayrailECOM' },
    });
  }

  /** A request as the disputes service builds it: a real dispute id, its nth submission. */
  function realRequest(pspDispute: string, submissionCount: number, text: string) {
    const evidence = { uncategorized_text: text };
    const row = { id: newId('du'), submission_count: submissionCount };
    return { reference: evidenceReference(row, evidence), disputeReference: pspDispute, evidence };
  }

  test('defense reasons, the evidence as a PDF document, then defendDispute', async () => {
    const from = adyen.state.seen.length;
    const request = { ...evidenceRequest, disputeReference: PSP_DISPUTE };
    assert.deepEqual(await connector().submitDisputeEvidence?.(request, deadline()), {
      status: 'submitted',
    });
    const seen = adyen.state.seen.slice(from);
    assert.deepEqual(
      seen.map((s) => s.path),
      [
        `${DISPUTES_BASE}/retrieveApplicableDefenseReasons`,
        `${DISPUTES_BASE}/supplyDefenseDocument`,
        `${DISPUTES_BASE}/defendDispute`,
      ],
    );
    for (const s of seen) assert.equal(s.apiKey, 'AQE_evidence');
    const [reasons, supply, defended] = seen.map((s) => s.body);
    assert.deepEqual(reasons, {
      disputePspReference: PSP_DISPUTE,
      merchantAccountCode: 'PayrailECOM',
    });
    const document = supply?.defenseDocuments?.[0];
    assert.equal(document?.contentType, 'application/pdf');
    assert.equal(document?.defenseDocumentTypeCode, 'AlternativeDefenseMaterial');
    const pdf = Buffer.from(String(document?.content), 'base64').toString('latin1');
    assert.match(pdf, /^%PDF-1\.4\n/);
    assert.match(pdf, /\(Delivered \\\(signed\\\) to J\. Doe\) Tj/);
    assert.match(pdf, /startxref\n\d+\n%%EOF\n$/);
    assert.equal(defended?.defenseReasonCode, 'SupplyDefenseMaterial');
    assert.equal(defended?.disputePspReference, PSP_DISPUTE);
    assert.equal(seen[2]?.key, `${request.reference}-defend`);
  });

  test('real-length dispute ids: every Idempotency-Key is at most 64 characters', async () => {
    for (const [i, count] of [0, 9, 98].entries()) {
      const pspDispute = `99100000000000${i}`;
      const request = realRequest(pspDispute, count, `shipped, submission ${count + 1}`);
      assert.ok(
        `${request.reference}-document`.length > 64,
        'the plain suffixed key would be too long for Adyen',
      );
      const from = adyen.state.seen.length;
      assert.deepEqual(await connector().submitDisputeEvidence?.(request, deadline()), {
        status: 'submitted',
      });
      const keys = adyen.state.seen.slice(from).map((s) => String(s.key));
      assert.equal(keys.length, 3);
      for (const key of keys) assert.ok(key.length <= 64, `${key} (${key.length})`);
      assert.equal(new Set(keys).size, 3, 'each step has its own key');
      // The same submission again: the same keys, answered from Adyen's store.
      await connector().submitDisputeEvidence?.(request, deadline());
      assert.deepEqual(
        adyen.state.seen.slice(from + 3).map((s) => s.key),
        keys,
      );
      assert.equal(adyen.state.documents.get(pspDispute)?.length, 1, 'one document uploaded');
      assert.deepEqual(
        adyen.state.defended.filter((d) => d === pspDispute),
        [pspDispute],
      );
    }
  });

  test('defendDispute refused after the upload: the document is deleted, then refused', async () => {
    const pspDispute = '9920000000000001';
    adyen.state.defend = () => ({
      status: 200,
      body: { disputeServiceResult: { success: false, errorMessage: 'Dispute is not defendable' } },
    });
    try {
      const refused = await connector().submitDisputeEvidence?.(
        realRequest(pspDispute, 0, 'first try'),
        deadline(),
      );
      assert.equal(refused?.status, 'refused', JSON.stringify(refused));
      assert.match(String((refused as Json).message), /not defendable.*deleted/);
      assert.deepEqual(adyen.state.documents.get(pspDispute), [], 'nothing left at Adyen');
      const deletion = adyen.state.seen.at(-1);
      assert.equal(deletion?.path, `${DISPUTES_BASE}/deleteDisputeDefenseDocument`);
      assert.deepEqual(deletion?.body, {
        disputePspReference: pspDispute,
        merchantAccountCode: 'PayrailECOM',
        defenseDocumentType: 'AlternativeDefenseMaterial',
      });
      assert.ok(String(deletion?.key).length <= 64);
    } finally {
      adyen.state.defend = () => ({
        status: 200,
        body: { disputeServiceResult: { success: true } },
      });
    }
    // Fixed and submitted again (new evidence, new reference): one document, defended.
    const fixed = await connector().submitDisputeEvidence?.(
      realRequest(pspDispute, 0, 'second try'),
      deadline(),
    );
    assert.deepEqual(fixed, { status: 'submitted' });
    assert.equal(adyen.state.documents.get(pspDispute)?.length, 1);
  });

  test('defendDispute refused and the document cannot be deleted: unavailable, not refused', async () => {
    const pspDispute = '9920000000000002';
    adyen.state.defend = () => ({
      status: 422,
      body: {
        status: 422,
        errorCode: '000',
        message: 'Defense period ended',
        errorType: 'validation',
      },
    });
    adyen.state.remove = () => ({
      status: 500,
      body: { status: 500, errorCode: '000', message: 'boom' },
    });
    try {
      const outcome = await connector().submitDisputeEvidence?.(
        realRequest(pspDispute, 0, 'late'),
        deadline(),
      );
      assert.equal(outcome?.status, 'unavailable', JSON.stringify(outcome));
      assert.match(String((outcome as Json).message), /supplied.*deleting that document failed/);
      assert.equal(adyen.state.documents.get(pspDispute)?.length, 1);
      // defendDispute timing out after the upload is unavailable too (it may have run).
      adyen.state.defend = () => ({ status: 503, body: { status: 503, message: 'unavailable' } });
      const lost = await connector().submitDisputeEvidence?.(
        realRequest('9920000000000003', 0, 'lost'),
        deadline(),
      );
      assert.equal(lost?.status, 'unavailable');
    } finally {
      adyen.state.defend = () => ({
        status: 200,
        body: { disputeServiceResult: { success: true } },
      });
      adyen.state.remove = () => ({
        status: 200,
        body: { disputeServiceResult: { success: true } },
      });
    }
  });

  test('no defense reason takes the generic document: refused before anything is uploaded', async () => {
    const pspDispute = '9920000000000004';
    adyen.state.reasons = [GENERIC_REASONS[0] as Json];
    try {
      const from = adyen.state.seen.length;
      const outcome = await connector().submitDisputeEvidence?.(
        realRequest(pspDispute, 0, 'no generic'),
        deadline(),
      );
      assert.equal(outcome?.status, 'refused');
      assert.equal((outcome as Json).code, 'adyen_no_defense_reason');
      assert.deepEqual(
        adyen.state.seen.slice(from).map((s) => s.path),
        [`${DISPUTES_BASE}/retrieveApplicableDefenseReasons`],
      );
      assert.equal(adyen.state.documents.get(pspDispute), undefined);
    } finally {
      adyen.state.reasons = GENERIC_REASONS;
    }
  });

  test('401/403/409 are not a refusal of the evidence: unavailable', async () => {
    const unauthorized = await connector('AQE_wrong').submitDisputeEvidence?.(
      realRequest('9920000000000005', 0, 'x'),
      deadline(),
    );
    assert.equal(unauthorized?.status, 'unavailable', JSON.stringify(unauthorized));
    assert.match(String((unauthorized as Json).message), /401.*api_key/);
    for (const status of [403, 409]) {
      const outcome = fromAdyenEvidenceFailure('defendDispute', {
        kind: 'http',
        httpStatus: status,
        error: { status, errorCode: '010', message: 'Not allowed', errorType: 'security' },
      });
      assert.equal(outcome.status, 'unavailable', String(status));
    }
    const invalid = fromAdyenEvidenceFailure('defendDispute', {
      kind: 'http',
      httpStatus: 422,
      error: { status: 422, errorCode: '000', message: 'Invalid', errorType: 'validation' },
    });
    assert.equal(invalid.status, 'refused');
  });
});

describe('test/helpers/adyen-server.ts refuses an Idempotency-Key over 64 characters, like Adyen', () => {
  test('65 characters: 422, nothing done; 64: taken', async () => {
    const server = await startAdyenServer();
    try {
      const post = (key: string) =>
        fetch(`${server.url}/v72/paymentMethods`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': server.apiKey,
            'idempotency-key': key,
          },
          body: JSON.stringify({ merchantAccount: server.merchantAccount }),
        });
      assert.equal((await post('k'.repeat(65))).status, 422);
      assert.equal((await post('k'.repeat(64))).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('401/403/409 from Stripe or psp-sim leave the evidence retryable', () => {
  test('stripe: unavailable, not refused', async () => {
    for (const httpStatus of [401, 403, 409]) {
      const outcome = fromStripeEvidenceFailure({
        kind: 'api',
        httpStatus,
        error: { type: 'invalid_request_error', code: 'x', message: 'no', param: null },
      } as StripeFailure);
      assert.equal(outcome.status, 'unavailable', String(httpStatus));
    }
    const refused = fromStripeEvidenceFailure({
      kind: 'api',
      httpStatus: 400,
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: 'no',
        param: null,
      },
    } as StripeFailure);
    assert.equal(refused.status, 'refused');
  });

  test('psp-sim: unavailable, not refused', () => {
    for (const httpStatus of [401, 403, 409]) {
      const outcome = fromPspSimEvidenceAnswer({
        httpStatus,
        body: { error: { code: 'x', message: 'no' } },
      } as PspSimHttpAnswer);
      assert.equal(outcome.status, 'unavailable', String(httpStatus));
    }
  });
});
