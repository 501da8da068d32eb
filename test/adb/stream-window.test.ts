// A stream's flow control, both ways, with and without delayed_ack, against a device modelled as
// a list of events: our WRTEs never run past the device's window (delayed_ack) or past one in
// flight (without), `queued` and `unacknowledged` count what they say, every byte goes out once
// and in order; the device's WRTEs are acknowledged once whole, byte for byte, never while paused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StreamController, type StreamHandler, type StreamOwner } from '../../src/adb/stream.js';

const MAX = 1000;

/** The connection side of one stream, recording what the controller sends. */
class Wire {
  sent: Buffer[] = [];
  okays: (number | null)[] = [];
  /** checked as each WRTE goes out: throws to fail the property */
  onSend: (data: Buffer) => void = () => {};
  readonly owner: StreamOwner<Wire> = {
    address: () => 'model:1',
    maxPayload: () => MAX,
    sendWrite: (w, _l, _r, data) => {
      w.onSend(data);
      w.sent.push(Buffer.from(data));
    },
    sendOkay: (w, _l, _r, acked) => w.okays.push(acked),
    ended: () => {},
    unanswered: () => {},
  };
}

function handler(received: Buffer[] = []): StreamHandler {
  return { onOpen: () => {}, onData: (d) => received.push(Buffer.from(d)), onClose: () => {} };
}

type SendOp = { kind: 'write'; size: number } | { kind: 'ack'; share: number };
const sendOps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 1, max: 3 * MAX }) }),
    fc.record({ kind: fc.constant('ack' as const), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  ),
  { maxLength: 60 },
);

test('delayed_ack: WRTEs go out while the window lasts, counted and in order', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 * MAX }), sendOps, (grant, ops: SendOp[]) => {
      const wire = new Wire();
      const s = new StreamController(wire.owner, wire, 1, handler(), true);
      let written = Buffer.alloc(0);
      let sentBytes = 0;
      let acked = 0;
      wire.onSend = (data) => {
        // A WRTE leaves only while some window is left (the last may overshoot it, as adb's do).
        assert.ok(sentBytes < grant + acked, `sent ${sentBytes} of a window of ${grant} + ${acked} acknowledged`);
        assert.ok(data.length <= MAX, 'no WRTE over the max payload');
        sentBytes += data.length;
      };
      s.okay(7, grant);
      let fill = 0;
      const check = (): void => {
        assert.equal(s.handle.queued, written.length - sentBytes);
        assert.equal(s.handle.unacknowledged, written.length - acked);
        assert.deepEqual(Buffer.concat(wire.sent), written.subarray(0, sentBytes), 'what went out is what was written, in order');
      };
      for (const op of ops) {
        if (op.kind === 'write') {
          const data = Buffer.alloc(op.size);
          for (let i = 0; i < data.length; i++) data[i] = fill++ & 0xff;
          written = Buffer.concat([written, data]);
          s.handle.write(data);
        } else {
          // The device acknowledges some of what reached it.
          const n = Math.floor((sentBytes - acked) * op.share);
          acked += n;
          s.okay(7, n);
        }
        check();
      }
      // The device acknowledges everything until nothing is left: every byte went out once.
      while (sentBytes < written.length || acked < sentBytes) {
        const n = sentBytes - acked;
        acked += n;
        s.okay(7, n);
        check();
      }
      assert.equal(s.handle.unacknowledged, 0);
    }),
  );
});

test('without delayed_ack one WRTE is in flight until its OKAY', () => {
  fc.assert(
    fc.property(sendOps, (ops: SendOp[]) => {
      const wire = new Wire();
      const s = new StreamController(wire.owner, wire, 1, handler(), false);
      let inFlight = 0;
      let written = 0;
      let ackedBytes = 0;
      wire.onSend = (data) => {
        assert.equal(inFlight, 0, 'a second WRTE before the OKAY of the first');
        inFlight = data.length;
      };
      s.okay(7, null);
      for (const op of ops) {
        if (op.kind === 'write') {
          written += op.size;
          s.handle.write(Buffer.alloc(op.size));
        } else if (inFlight > 0) {
          ackedBytes += inFlight;
          inFlight = 0;
          s.okay(7, null);
        }
        assert.equal(s.handle.unacknowledged, written - ackedBytes);
        assert.equal(s.handle.queued, written - ackedBytes - inFlight);
      }
    }),
  );
});

type RecvOp = { kind: 'wrte'; size: number; pieces: number } | { kind: 'pause' } | { kind: 'resume' };
const recvOps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('wrte' as const), size: fc.integer({ min: 1, max: MAX }), pieces: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('pause' as const) }),
    fc.record({ kind: fc.constant('resume' as const) }),
  ),
  { maxLength: 60 },
);

for (const delayed of [true, false]) {
  test(`the device's WRTEs are acknowledged once whole, never while paused (${delayed ? 'delayed_ack' : 'bare OKAYs'})`, () => {
    fc.assert(
      fc.property(recvOps, (ops: RecvOp[]) => {
        const wire = new Wire();
        const received: Buffer[] = [];
        const s = new StreamController(wire.owner, wire, 1, handler(received), delayed);
        s.okay(7, delayed ? 1 : null);
        // The OKAYs a device should see: one per whole WRTE (its size with delayed_ack), and while
        // paused none, then one on resume for all that came meanwhile.
        const want: (number | null)[] = [];
        let paused = false;
        let owed: number | null = null;
        let fill = 0;
        const expected: Buffer[] = [];
        for (const op of ops) {
          if (op.kind === 'pause') {
            paused = true;
            s.handle.pause();
          } else if (op.kind === 'resume') {
            paused = false;
            if (owed !== null) want.push(delayed ? owed : null);
            owed = null;
            s.handle.resume();
          } else {
            const payload = Buffer.alloc(op.size);
            for (let i = 0; i < payload.length; i++) payload[i] = fill++ & 0xff;
            expected.push(payload);
            const cut = Math.max(1, Math.ceil(op.size / op.pieces));
            for (let at = 0; at < op.size; at += cut) {
              const last = at + cut >= op.size;
              s.data(7, payload.subarray(at, Math.min(op.size, at + cut)), last, op.size);
              if (!last) assert.deepEqual(wire.okays, want, 'no OKAY before the WRTE is whole');
            }
            if (paused) owed = (owed ?? 0) + op.size;
            else want.push(delayed ? op.size : null);
          }
          assert.deepEqual(wire.okays, want);
        }
        assert.deepEqual(Buffer.concat(received), Buffer.concat(expected), 'every byte handed on, in order');
      }),
    );
  });
}
