/** Registers every command group on the program. */
import type { Command } from "commander";
import { registerBacktest } from "./backtest.js";
import { registerData } from "./data.js";
import { registerEnsemble } from "./ensemble.js";
import { registerExchange } from "./exchange.js";
import { registerInit } from "./init.js";
import type { GlobalOptions } from "./output.js";
import { registerReadiness } from "./readiness.js";
import { registerTrader } from "./trader.js";

export function registerCommands(program: Command, globals: () => GlobalOptions): void {
  registerInit(program, globals);
  registerEnsemble(program, globals);
  registerReadiness(program, globals);
  registerData(program, globals);
  registerBacktest(program, globals);
  registerTrader(program, globals);
  registerExchange(program, globals);
}
