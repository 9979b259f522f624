/** Registers every command group on the program. */
import type { Command } from "commander";
import { registerAutomation } from "./automation.js";
import { registerBacktest } from "./backtest.js";
import { registerDashboard } from "./dashboard.js";
import { registerData } from "./data.js";
import { registerDemo } from "./demo.js";
import { registerDeploy } from "./deploy.js";
import { registerEnsemble } from "./ensemble.js";
import { registerEvaluate } from "./evaluate.js";
import { registerExchange } from "./exchange.js";
import { registerInit } from "./init.js";
import { registerModels } from "./models.js";
import { registerMonitor } from "./monitor.js";
import { registerNotify } from "./notify.js";
import type { GlobalOptions } from "./output.js";
import { registerReadiness } from "./readiness.js";
import { registerScheduler } from "./scheduler.js";
import { registerStorage } from "./storage.js";
import { registerTrader } from "./trader.js";
import { registerTrain } from "./train.js";
import { registerWatchdog } from "./watchdog.js";

export function registerCommands(program: Command, globals: () => GlobalOptions): void {
  registerInit(program, globals);
  registerEnsemble(program, globals);
  registerReadiness(program, globals);
  registerData(program, globals);
  registerBacktest(program, globals);
  registerDeploy(program, globals);
  registerScheduler(program, globals);
  registerTrader(program, globals);
  registerExchange(program, globals);
  registerAutomation(program, globals);
  registerDemo(program, globals);
  registerWatchdog(program, globals);
  registerMonitor(program, globals);
  registerNotify(program, globals);
  registerTrain(program, globals);
  registerDashboard(program, globals);
  registerModels(program, globals);
  registerStorage(program, globals);
  registerEvaluate(program, globals);
}
