/**
 * The Broker interface the trader uses. Implemented by the in-process local exchange, and by
 * the Alpaca adapter (which also talks to `capp exchange serve`). Quantities are in base units
 * (e.g. BTC), prices and cash in USD. Symbols use the slash form "BTC/USD".
 */

export type OrderSide = "buy" | "sell";
export type OrderStatus = "new" | "accepted" | "partially_filled" | "filled" | "canceled" | "rejected" | "expired";

export interface OrderRequest {
  symbol: string;
  side: OrderSide;
  /** Base-unit quantity, > 0. */
  qty: number;
  type: "market";
  /** Deterministic id (session, bar time, symbol): a repeat returns the first order (idempotent). */
  clientOrderId: string;
}

export interface Order {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  qty: number;
  filledQty: number;
  /** Average fill price, USD; undefined until filled. */
  filledAvgPrice?: number;
  status: OrderStatus;
  /** ms since epoch (UTC). */
  submittedAt: number;
  filledAt?: number;
  /** Fee charged in USD (local exchange only; Alpaca reports fees separately). */
  fee?: number;
  /** Why the broker refused the order (status "rejected"); one line, no secrets. */
  rejectReason?: string;
}

export interface Position {
  symbol: string;
  /** Base-unit quantity held (≥ 0, spot only). */
  qty: number;
  /** Average entry price, USD. */
  avgEntryPrice: number;
  /** Last price known to the broker, USD. */
  currentPrice: number;
}

export interface Account {
  /** Cash, USD. */
  cash: number;
  /** cash + Σ qty·price, USD. */
  equity: number;
}

export interface Asset {
  symbol: string;
  tradable: boolean;
  /** Minimum order size in base units. */
  minOrderSize: number;
  /** Quantity increment in base units. */
  minTradeIncrement?: number;
}

export interface Broker {
  /** Human name for logs ("local", "alpaca-paper", …). */
  readonly name: string;
  getAccount(): Promise<Account>;
  getPositions(): Promise<Position[]>;
  /**
   * Submit a market order. Idempotent on clientOrderId: a repeat returns the first order and
   * never fills twice. A refusal is reported as an order with status "rejected" and a
   * `rejectReason` when the broker keeps a record of it (local exchange), or as a thrown
   * BrokerError with `status` 403/422 when the broker answers over HTTP (Alpaca, `capp exchange serve`).
   */
  submitOrder(req: OrderRequest): Promise<Order>;
  /** The order with this client order id, or undefined. */
  getOrderByClientId(clientOrderId: string): Promise<Order | undefined>;
  /** Orders that are not yet filled/canceled. */
  listOpenOrders(): Promise<Order[]>;
  getAsset(symbol: string): Promise<Asset | undefined>;
}
