/**
 * `LocalBroker`: the Broker interface over an in-process {@link LocalExchange}. Refusals come
 * back as orders with status "rejected" and a `rejectReason` (nothing is thrown for them).
 */
import type { LocalExchange } from "../exchange/local.js";
import type { Account, Asset, Broker, Order, OrderRequest, Position } from "./types.js";

/** Strip exchange-internal fields so callers see the plain {@link Order} shape. */
function publicOrder(o: Order & { afterBarTime?: unknown; rejectCode?: unknown }): Order {
  const { afterBarTime: _a, rejectCode: _r, ...rest } = o;
  return rest;
}

/** Broker backed by the in-process simulated exchange (same process, no HTTP). */
export class LocalBroker implements Broker {
  readonly name = "local";

  /** @param exchange the exchange the caller also drives with `onBar`. */
  constructor(readonly exchange: LocalExchange) {}

  async getAccount(): Promise<Account> {
    return this.exchange.getAccount();
  }

  async getPositions(): Promise<Position[]> {
    return this.exchange.getPositions();
  }

  /**
   * Submit a market order; a repeated client order id returns the first order.
   * @throws BrokerError (status 422) for a malformed request (see LocalExchange.submitOrder).
   */
  async submitOrder(req: OrderRequest): Promise<Order> {
    return publicOrder(this.exchange.submitOrder(req).order);
  }

  async getOrderByClientId(clientOrderId: string): Promise<Order | undefined> {
    const o = this.exchange.getOrderByClientId(clientOrderId);
    return o ? publicOrder(o) : undefined;
  }

  async listOpenOrders(): Promise<Order[]> {
    return this.exchange.listOrders("open").map(publicOrder);
  }

  async getAsset(symbol: string): Promise<Asset | undefined> {
    return this.exchange.getAsset(symbol);
  }
}
