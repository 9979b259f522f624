/**
 * `capp dashboard` in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), on the workspace made by `capp demo --quick` (minutes; one run shared with
 * test/demo/demo.test.ts through test/demo/sharedDemo.ts). Checks: no console error; the final
 * equity (or "no trading yet" when the gate deployed nothing), member count, deployment number (or
 * "none"), the gate's verdict, reasons and numbers, and the trial count on the page equal what
 * `capp demo --json`, `capp ensemble show --json` and `capp deploy show --json` report; an alert
 * appended to the state DB appears without a reload; a screenshot of each view is written to
 * test-output/dashboard/*.png for a person to look at.
 *
 * Needs `dist/` (npm run build; `npm test` builds it) and /usr/bin/chromium (or CHROMIUM_PATH);
 * without chromium the tests are skipped with the reason printed. Set CAPP_DASHBOARD_DEMO_DIR to
 * reuse a workspace already made by `capp demo --quick --dir DIR` (its demo_report/report.json
 * stands for the demo's --json output).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateDb } from "../../src/core/state/db.js";
import { sharedQuickDemo } from "../demo/sharedDemo.js";
import { capp, REPO } from "../helpers/workspace.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const HAVE_DIST = existsSync(join(REPO, "dist/cli.js"));
const SKIP_REASON = !HAVE_CHROMIUM
  ? `chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`
  : !HAVE_DIST
    ? "dist/ is missing: run `npm run build` first"
    : "";
if (SKIP_REASON) console.warn(`SKIPPED test/dashboard/browser.test.ts: ${SKIP_REASON}`);

const OUT = join(REPO, "test-output/dashboard");

/** Spawn the CLI and resolve with the first complete JSON document on stdout. */
function startCli(args: string[]): Promise<{ child: ChildProcess; doc: { url: string } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => {
      out += d;
      try {
        resolve({ child, doc: JSON.parse(out) });
      } catch {
        // not complete yet
      }
    });
    child.stderr?.on("data", (d) => {
      err += d;
    });
    child.on("exit", (code) => reject(new Error(`capp ${args.join(" ")} exited ${code}: ${err}`)));
  });
}

describe.skipIf(!!SKIP_REASON)("capp dashboard in chromium", () => {
  let ws: string;
  let own = false;
  let demo: {
    training: { trials: number };
    replay: { metrics: { endEquity: number } | null };
    ensemble: { members: number };
    gate: {
      passed: boolean | null;
      failures: string[];
      sharpe: number | null;
      ewSharpe: number | null;
      pbo: number | null;
      dsr: number | null;
    };
  };
  let server: ChildProcess | undefined;
  let url: string;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    if (process.env.CAPP_DASHBOARD_DEMO_DIR) {
      ws = process.env.CAPP_DASHBOARD_DEMO_DIR;
      demo = JSON.parse(readFileSync(join(ws, "demo_report/report.json"), "utf8"));
    } else {
      const r = await sharedQuickDemo();
      ws = r.dir;
      own = r.own;
      expect(r.code, r.stderr).toBe(0);
      demo = JSON.parse(r.stdout);
    }
    const started = await startCli(["-w", ws, "--json", "dashboard", "--port", "0"]);
    server = started.child;
    url = started.doc.url;
    // a fresh profile per run (playwright passes it as --user-data-dir)
    profile = mkdtempSync(join(tmpdir(), "capp-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 1_500_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (own) rmSync(join(ws, ".."), { recursive: true, force: true });
  });

  it("shows the CLI's figures with no console error, and a new alert without a reload", async () => {
    const ensemble = JSON.parse(capp(["-w", ws, "--json", "ensemble", "show"]).stdout);
    const deploy = JSON.parse(capp(["-w", ws, "--json", "deploy", "show"]).stdout);
    const traded = demo.replay.metrics !== null;

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => {
      if (!r.url().endsWith("/api/events")) problems.push(`request failed: ${r.url()}`);
    });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));

    await page.goto(`${url}#trading`);
    const equity = page.getByTestId("final-equity");
    await expect
      .poll(() => equity.textContent(), { timeout: 30_000 })
      .toBe(traded ? `${demo.replay.metrics?.endEquity.toFixed(2)} USD` : "no trading yet");
    if (traded) {
      await page.waitForSelector("[data-testid=equity-chart] canvas");
      await page.screenshot({ path: join(OUT, "trading.png"), fullPage: true });
      // a shorter span: the return shown is computeMetrics over that span's bars (from the server)
      const snap = (await (await fetch(`${url}api/snapshot`)).json()) as {
        trading: { spans: { key: string; metrics: { totalReturn: number } }[] };
      };
      const week = snap.trading.spans.find((x) => x.key === "7d");
      expect(week).toBeDefined();
      await page.getByRole("button", { name: "7d" }).click();
      await expect
        .poll(() => page.getByTestId("return").textContent(), { timeout: 10_000 })
        .toBe(`${((week?.metrics.totalReturn ?? 0) * 100).toFixed(2)} %`);
      await page.screenshot({ path: join(OUT, "trading-7d.png"), fullPage: true });
    } else {
      // the gate refused: the page says why there is nothing to trade instead of an empty chart
      expect(await page.getByTestId("no-trading").textContent()).toMatch(/validation gate refused/);
      await page.screenshot({ path: join(OUT, "trading.png"), fullPage: true });
    }

    await page.goto(`${url}#ensemble`);
    await expect
      .poll(() => page.getByTestId("member-count").textContent(), { timeout: 15_000 })
      .toBe(String(ensemble.model_count));
    expect(ensemble.model_count).toBe(demo.ensemble.members);
    expect(await page.getByTestId("deployment-number").textContent()).toBe(
      deploy.live ? `#${deploy.live.deployment}` : "none",
    );
    expect(deploy.live === null).toBe(!demo.gate.passed);
    expect(await page.locator("[data-testid=members] tbody tr").count()).toBe(ensemble.model_count);
    // the gate's decision, reasons and numbers as `capp demo --json` reports them
    expect(await page.getByTestId("gate-verdict").textContent()).toBe(demo.gate.passed ? "PASSED" : "REFUSED");
    if (!demo.gate.passed) {
      const reasons = await page.locator("[data-testid=gate-failures] li").allTextContents();
      expect(reasons).toEqual(demo.gate.failures);
    }
    const sharpe = await page.getByTestId("gate-sharpe").textContent();
    expect(sharpe).toContain(demo.gate.sharpe?.toFixed(2));
    expect(sharpe).toContain(demo.gate.ewSharpe?.toFixed(2));
    const overfit = await page.getByTestId("gate-overfitting").textContent();
    expect(overfit).toContain(`PBO ${demo.gate.pbo?.toFixed(2)}`);
    expect(overfit).toContain(`DSR ${demo.gate.dsr?.toFixed(2)}`);
    await page.screenshot({ path: join(OUT, "ensemble.png"), fullPage: true });

    await page.goto(`${url}#study`);
    await expect
      .poll(() => page.getByTestId("trial-count").textContent(), { timeout: 15_000 })
      .toBe(String(demo.training.trials));
    await page.waitForSelector("[data-testid=history-chart] canvas");
    await page.screenshot({ path: join(OUT, "study.png"), fullPage: true });

    await page.goto(`${url}#health`);
    await page.waitForSelector("[data-testid=jobs]");
    const before = Number(await page.getByTestId("alert-count").textContent());
    const message = `dashboard test alert ${Date.now()}`;
    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      db.addEvent({ ts: Date.now(), severity: "ERROR", process: "DASHBOARD_TEST", kind: "test", message });
    } finally {
      db.close();
    }
    // no reload: the server pushes the next snapshot over server-sent events
    await page.getByText(message).waitFor({ state: "visible", timeout: 20_000 });
    expect(Number(await page.getByTestId("alert-count").textContent())).toBe(Math.min(before + 1, 50));
    await page.screenshot({ path: join(OUT, "health.png"), fullPage: true });

    // everything came from the dashboard itself (no CDN)
    expect(requested.filter((u) => !u.startsWith(url))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
