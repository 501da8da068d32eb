// Tango (@yume-chan/adb) talking straight to adbd over a node:net socket: an independent ADB
// implementation, used to cross-check our client in tests and as a baseline in the benchmark.
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import type { KeyObject } from 'node:crypto';
import { Adb, AdbDaemonTransport, AdbPacket, AdbPacketSerializeStream, type AdbCredentialStore, type AdbPacketData, type AdbPacketInit } from '@yume-chan/adb';
import type { Consumable} from '@yume-chan/stream-extra';
import { PushReadableStream, StructDeserializeStream, WritableStream, type ReadableWritablePair } from '@yume-chan/stream-extra';

/** A credential store holding one existing key (Tango wants PKCS#8 DER). */
export function credentialStoreOf(privateKey: KeyObject): AdbCredentialStore {
  const buffer = new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }));
  return {
    generateKey: () => ({ buffer, name: 'tango@adbfleet' }),
    *iterateKeys() {
      yield { buffer, name: 'tango@adbfleet' };
    },
  };
}

/** initialDelayedAckBytes: 0 (the default) leaves delayed_ack out of Tango's banner; more offers it with that grant. */
export async function tangoConnect(host: string, port: number, privateKey: KeyObject, initialDelayedAckBytes = 0): Promise<Adb> {
  const socket = netConnect({ host, port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const bytes = new PushReadableStream<Uint8Array>((controller) => {
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      void controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(() => socket.resume());
    });
    socket.on('end', () => controller.close());
    socket.on('error', (e) => controller.error(e));
  });
  const serializer = new AdbPacketSerializeStream();
  void serializer.readable.pipeTo(
    new WritableStream<Consumable<Uint8Array>>({
      write(chunk) {
        return new Promise<void>((resolve, reject) => {
          socket.write(chunk.value, (e) => {
            if (e) {
              chunk.error(e);
              reject(e);
            } else {
              chunk.consume();
              resolve();
            }
          });
        });
      },
      close() {
        socket.end();
      },
    }),
  ).catch(() => socket.destroy());
  const connection: ReadableWritablePair<AdbPacketData, Consumable<AdbPacketInit>> = {
    readable: bytes.pipeThrough(new StructDeserializeStream(AdbPacket)),
    writable: serializer.writable,
  };
  const transport = await AdbDaemonTransport.authenticate({
    serial: `${host}:${port}`,
    connection,
    credentialStore: credentialStoreOf(privateKey),
    initialDelayedAckBytes,
  });
  return new Adb(transport);
}

export interface TangoResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export async function tangoExec(adb: Adb, command: string): Promise<TangoResult> {
  const shell = adb.subprocess.shellProtocol;
  if (shell === undefined) throw new Error('the device lacks shell_v2');
  const r = await shell.spawnWait(command);
  return { stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr), exitCode: r.exitCode };
}
