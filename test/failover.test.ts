import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { signPspSimPayload } from '../src/connectors/psp-sim/transformers.ts';
import type { PspSim } from '../src/psp-sim/server.ts';
import { startEngine, type TestEngine } from './helpers/engine.ts';
import { api, createSimConnector, setSimMode, startSim } from './helpers/psp-sim.ts';

// Several processors behind one engine: real psp-sim processes on loopback,
// real connector accounts made through the API, real failover. Each test
// checks the simulators' own charge lists, so "charged once" is counted where
// the money is, not taken from the engine's word.

interface SimCharge {
  payment_reference: string;
  reference: string;
  status: string;
  amount_captured: number;
  amount_refunded: number;
  voided?: boolean;
}

async function simCharges(sim: PspSim): Promise<SimCharge[]> {
  const response = await fetch(`${sim.controlUrl}/_sim/charges`);
  return ((await response.json()) as { charges: SimCharge[] }).charges;
}
/** Charges that still hold the customer's money, per payment intent. */
function liveCharges(charges: SimCharge[], intentId: string): SimCharge[] {
  return charges.filter(
    (c) =>
      c.payment_reference === intentId &&
      (c.status === 'authorized' || c.status === 'captured') &&
      c.voided !== true &&
      c.amount_refunded < Math.max(c.amount_captured, 1),
  );
}

async function pay(t: TestEngine, card = 'pm_card_visa') {
  const response = await api(t, 'POST', '/v1/payment_intents', {
    amount: 2500,
    currency: 'eur',
    payment_method: card,
    confirm: true,
  });
  return response;
}

async function attempts(t: TestEngine, intentId: string) {
  const response = await api(t, 'GET', `/v1/payment_intents/${intentId}/attempts`);
  assert.equal(response.status, 200);
  return response.json.data as Array<Record<string, any>>;
}

describe('failover across processors', () => {
  let t: TestEngine;
  const sims: Array<{ sim: PspSim; dir: string }> = [];
  let a: PspSim;
  let b: PspSim;
  let connA: string;
  let connB: string;

  before(async () => {
    sims.push(await startSim('sim-a'), await startSim('sim-b'));
    a = sims[0]!.sim;
    b = sims[1]!.sim;
    t = await startEngine({
      env: { PAYRAIL_BREAKER_HALF_OPEN_MS: '60000', PAYRAIL_PROBE_INTERVAL_MS: '3600000' },
    });
    connA = await createSimConnector(t, 'sim-a', a);
    connB = await createSimConnector(t, 'sim-b', b);
    const routing = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [connA, connB] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });

  after(async () => {
    await t?.close();
    for (const { sim, dir } of sims) {
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a healthy first choice takes the payment, with the reason recorded', async () => {
    const paid = await pay(t);
    assert.equal(paid.status, 200, JSON.stringify(paid.json));
    assert.equal(paid.json.status, 'succeeded');
    const tries = await attempts(t, paid.json.id);
    assert.equal(tries.length, 1);
    assert.equal(tries[0]!.connector, connA);
    assert.match(tries[0]!.routing_reason, /priority 1\/2/);
    assert.equal(liveCharges(await simCharges(a), paid.json.id).length, 1);
  });

  test('a processor that is down fails over to the next within the same payment', async () => {
    await setSimMode(a, { mode: 'down' });
    try {
      const paid = await pay(t);
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      assert.equal(paid.json.status, 'succeeded');
      const tries = await attempts(t, paid.json.id);
      assert.deepEqual(
        tries.map((x) => [x.connector, x.status, x.error_code]),
        [
          [connA, 'failed_retryable', 'processor_unavailable'],
          [connB, 'succeeded', null],
        ],
      );
      assert.match(tries[1]!.routing_reason, /failover after/);
      assert.equal(liveCharges(await simCharges(a), paid.json.id).length, 0);
      assert.equal(liveCharges(await simCharges(b), paid.json.id).length, 1);
    } finally {
      await setSimMode(a, { mode: 'up' });
    }
  });

  test('a hard decline is not tried on another processor', async () => {
    const paid = await pay(t, 'pm_card_chargeDeclinedInsufficientFunds');
    assert.equal(paid.status, 402);
    assert.equal(paid.json.error.decline_code, 'insufficient_funds');
    const intent = paid.json.error.payment_intent;
    const tries = await attempts(t, intent.id);
    assert.equal(tries.length, 1);
    assert.equal(tries[0]!.connector, connA);
    assert.equal((await simCharges(b)).filter((c) => c.payment_reference === intent.id).length, 0);
  });

  test('an unknown outcome fails over, and recovery reverses the extra charge', async () => {
    await setSimMode(a, { mode: 'timeout_after_charge' });
    let intentId: string;
    try {
      const paid = await pay(t);
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      assert.equal(paid.json.status, 'succeeded');
      intentId = paid.json.id;
      const tries = await attempts(t, intentId);
      assert.deepEqual(
        tries.map((x) => [x.connector, x.status]),
        [
          [connA, 'unknown'],
          [connB, 'succeeded'],
        ],
      );
      // Both processors hold the customer's money until recovery runs.
      assert.equal(liveCharges(await simCharges(a), intentId).length, 1);
    } finally {
      await setSimMode(a, { mode: 'up' });
    }
    await t.engine.background.recoverPayments();
    const tries = await attempts(t, intentId);
    const first = tries.find((x) => x.connector === connA && x.operation === 'authorize');
    assert.equal(first?.status, 'succeeded');
    assert.match(first?.resolution ?? '', /extra charge reversed by pa_/);
    const reverse = tries.find((x) => x.operation === 'reverse');
    assert.equal(reverse?.status, 'succeeded');
    assert.equal(liveCharges(await simCharges(a), intentId).length, 0);
    assert.equal(liveCharges(await simCharges(b), intentId).length, 1);
    const intent = await api(t, 'GET', `/v1/payment_intents/${intentId}`);
    assert.equal(intent.json.status, 'succeeded');
    assert.equal(intent.json.amount_received, 2500);
  });

  test('a signed processor notice settles an unknown outcome the payment is waiting for', async () => {
    await setSimMode(a, { mode: 'timeout_after_charge' });
    await setSimMode(b, { mode: 'down' });
    let intentId: string;
    let attemptId: string;
    try {
      const paid = await pay(t);
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      // B failed before acting, but A may have charged: the payment waits.
      assert.equal(paid.json.status, 'processing');
      intentId = paid.json.id;
      const tries = await attempts(t, intentId);
      assert.deepEqual(
        tries.map((x) => [x.connector, x.status]),
        [
          [connA, 'unknown'],
          [connB, 'failed_retryable'],
        ],
      );
      attemptId = tries[0]!.id;
    } finally {
      await setSimMode(a, { mode: 'up' });
      await setSimMode(b, { mode: 'up' });
    }
    const body = JSON.stringify({
      reference: attemptId,
      operation: 'authorize',
      status: 'succeeded',
      id: 'simch_notice',
    });
    const forged = await fetch(`${t.url}/v1/connector_webhooks/${connA}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'pspsim-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
      },
      body,
    });
    assert.equal(forged.status, 400);
    assert.equal(
      (await api(t, 'GET', `/v1/payment_intents/${intentId}`)).json.status,
      'processing',
    );
    const header = signPspSimPayload({
      apiKey: 'key_sim-a',
      rawBody: body,
      timestampSeconds: Math.floor(Date.now() / 1000),
    });
    const notice = await fetch(`${t.url}/v1/connector_webhooks/${connA}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'pspsim-signature': header },
      body,
    });
    assert.equal(notice.status, 200, await notice.clone().text());
    assert.equal(((await notice.json()) as { settled: number }).settled, 1);
    const intent = await api(t, 'GET', `/v1/payment_intents/${intentId}`);
    assert.equal(intent.json.status, 'succeeded');
    const tries = await attempts(t, intentId);
    assert.equal(tries[0]!.status, 'succeeded');
    assert.equal(tries[0]!.resolution, 'charged; kept as the payment');
  });

  test('sustained failures open the breaker; routing then skips the connector', async () => {
    await setSimMode(a, { mode: 'errors' });
    try {
      for (let i = 0; i < 8; i++) {
        const paid = await pay(t);
        assert.equal(paid.json.status, 'succeeded', JSON.stringify(paid.json));
      }
      const health = await api(t, 'GET', `/v1/connectors/${connA}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.json.breaker, 'open');
      assert.equal(health.json.status, 'down');
      const paid = await pay(t);
      const tries = await attempts(t, paid.json.id);
      assert.deepEqual(
        tries.map((x) => x.connector),
        [connB],
      );
      const metrics = await fetch(`${t.url}/metrics`);
      const text = await metrics.text();
      assert.match(text, new RegExp(`payrail_connector_breaker_state\\{connector="${connA}"\\} 2`));
      assert.match(
        text,
        /payrail_connector_calls_total\{connector="conn_[a-z0-9]+",status="failed_retryable"\}/,
      );
    } finally {
      await setSimMode(a, { mode: 'up' });
    }
  });
});

describe('maintenance windows and the secondary method', () => {
  let t: TestEngine;
  const sims: Array<{ sim: PspSim; dir: string }> = [];
  let connA: string;
  let connB: string;

  before(async () => {
    sims.push(await startSim('sim-c'), await startSim('sim-d'));
    t = await startEngine({ env: { PAYRAIL_PROBE_INTERVAL_MS: '3600000' } });
    connA = await createSimConnector(t, 'sim-c', sims[0]!.sim);
    connB = await createSimConnector(t, 'sim-d', sims[1]!.sim);
    const routing = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [connA, connB] }],
      secondary_method: {
        type: 'bank_transfer',
        bank_transfer: { account_holder_name: 'Payrail Test GmbH', iban: 'DE89370400440532013000' },
      },
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });

  after(async () => {
    await t?.close();
    for (const { sim, dir } of sims) {
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a connector in its maintenance window gets no traffic', async () => {
    const now = Math.floor(Date.now() / 1000);
    const window = await api(t, 'POST', `/v1/connectors/${connA}/maintenance_windows`, {
      start: now - 5,
      end: now + 600,
      note: 'planned upgrade',
    });
    assert.equal(window.status, 200, JSON.stringify(window.json));
    try {
      const paid = await pay(t);
      assert.equal(paid.json.status, 'succeeded');
      const tries = await attempts(t, paid.json.id);
      assert.deepEqual(
        tries.map((x) => x.connector),
        [connB],
      );
    } finally {
      const canceled = await api(t, 'POST', `/v1/maintenance_windows/${window.json.id}/cancel`);
      assert.equal(canceled.status, 200);
    }
  });

  test('when every processor fails, the customer is offered a bank transfer with a reference', async () => {
    await setSimMode(sims[0]!.sim, { mode: 'down' });
    await setSimMode(sims[1]!.sim, { mode: 'errors' });
    try {
      const paid = await pay(t);
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      assert.equal(paid.json.status, 'requires_action');
      const next = paid.json.next_action;
      assert.equal(next.type, 'display_bank_transfer_instructions');
      const instructions = next.display_bank_transfer_instructions;
      assert.equal(instructions.amount_remaining, 2500);
      assert.match(instructions.reference, /^PR[A-Z0-9]{12}$/);
      assert.equal(instructions.financial_addresses[0].iban.iban, 'DE89370400440532013000');
      assert.match(instructions.reason, /processor/);
      const events = await api(t, 'GET', '/v1/events?limit=5');
      const offered = events.json.data.find(
        (e: any) =>
          e.type === 'payment_intent.requires_action' && e.data.object.id === paid.json.id,
      );
      assert.ok(offered, 'a requires_action event names the bank transfer and why');
      assert.match(
        offered.data.object.next_action.display_bank_transfer_instructions.reason,
        /processor/,
      );
    } finally {
      await setSimMode(sims[0]!.sim, { mode: 'up' });
      await setSimMode(sims[1]!.sim, { mode: 'up' });
    }
  });
});
