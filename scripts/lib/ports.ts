import net from 'node:net';
import { freeLoopbackPort } from '@src/common/async';

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export const freePort = freeLoopbackPort;

/** True when something accepts TCP connections on host:port. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails with a one-line message naming the port when it is taken. */
export async function assertPortFree(port: number, what: string, envVar?: string): Promise<void> {
  if (await portAnswers(port)) {
    throw new Error(`port ${port} needed by ${what} is already in use${envVar ? ` (set ${envVar} or stop the process using it)` : ''}`);
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s`);
}

