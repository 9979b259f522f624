// Test preload (node --import): any attempt to reach the network is written to the file named by
// CAPP_NETWORK_LOG and fails. Proves that a command refuses before it makes a network call.
import { appendFileSync } from "node:fs";
import net from "node:net";

const log = process.env.CAPP_NETWORK_LOG;
const record = (what) => {
  if (log) appendFileSync(log, `${what}\n`);
};
globalThis.fetch = async (input) => {
  record(`fetch ${typeof input === "string" ? input : (input?.url ?? String(input))}`);
  throw new TypeError("network disabled by test/helpers/noNetwork.mjs");
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  record(`connect ${JSON.stringify(args[0])}`);
  return connect.apply(this, args);
};
